// The official OpenAI JavaScript SDK against an imagegate stack, as a Node user calls it.
// Usage: node images.mjs <work dir>, with IMAGEGATE_BASE_URL and IMAGEGATE_API_KEY set.
// The work dir holds red.png and mask.png; the script writes what it got back there and a
// summary.json, which tests/e2e/test_javascript_sdk.py checks.
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";

const [work] = process.argv.slice(2);
const client = new OpenAI({
  baseURL: process.env.IMAGEGATE_BASE_URL,
  apiKey: process.env.IMAGEGATE_API_KEY,
  maxRetries: 0,
});
const summary = {};

const byUrl = await client.images.generate({
  model: "imagegate-preview",
  prompt: "a lighthouse at dusk",
  size: "256x256",
  seed: 11, // extra parameters pass through the SDK's body as they are
});
const download = await fetch(byUrl.data[0].url);
fs.writeFileSync(path.join(work, "by-url.png"), Buffer.from(await download.arrayBuffer()));
summary.byUrl = { status: download.status, seed: byUrl.data[0].seed, cost: byUrl.cost };

const inline = await client.images.generate({
  prompt: "a lighthouse at dusk",
  size: "512x512",
  response_format: "b64_json",
  output_format: "webp",
});
fs.writeFileSync(path.join(work, "inline.webp"), Buffer.from(inline.data[0].b64_json, "base64"));
summary.inline = { format: inline.output_format, size: inline.size };

const edited = await client.images.edit({
  model: "imagegate-preview",
  image: fs.createReadStream(path.join(work, "red.png")),
  mask: fs.createReadStream(path.join(work, "mask.png")),
  prompt: "a blue sky over a red field",
  size: "256x256",
  response_format: "b64_json",
  strength: 1.0,
  seed: 3,
});
fs.writeFileSync(path.join(work, "edited.png"), Buffer.from(edited.data[0].b64_json, "base64"));
summary.edited = { images: edited.data.length };

try {
  await client.images.generate({ prompt: "a fox", size: "3x3" });
  summary.refused = null;
} catch (error) {
  summary.refused = { status: error.status, code: error.code, param: error.param };
}

// A streamed generation, as the SDK iterates it: its event types in order.
const stream = await client.images.generate({
  model: "gpt-image-1",
  prompt: "a lighthouse at dusk",
  stream: true,
  partial_images: 2,
});
summary.streamed = [];
for await (const event of stream) {
  summary.streamed.push(event.type);
  if (event.type === "image_generation.completed") {
    fs.writeFileSync(path.join(work, "streamed.png"), Buffer.from(event.b64_json, "base64"));
  }
}

const varied = await client.images.createVariation({
  image: fs.createReadStream(path.join(work, "red.png")),
  model: "dall-e-2",
  n: 2,
  size: "256x256",
});
summary.varied = { images: varied.data.length, byUrl: varied.data.every((item) => item.url) };

fs.writeFileSync(path.join(work, "summary.json"), JSON.stringify(summary));
