"""Third-party clients' real request shapes, replayed against a running stack.

Each test sends, over plain HTTP, the body or form a published client sends (quoted in the test
from the client's source, at the commit named there) and then reads the answer the way that
client reads it: the field it takes, decoded or downloaded, must be an image of the size and
format the client expects.
"""

import base64
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.e2e.conftest import Stack
from tests.image_samples import picture, top_half_mask
from tests.support import assert_error, open_image

pytestmark = pytest.mark.e2e

TIMEOUT = 120
GPT_IMAGE_SIZES = {(1024, 1024), (1536, 1024), (1024, 1536)}


def _auth(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.api_key}"}


# A multipart part as httpx takes it: (name, (filename, content, content type)).
Part = tuple[str, tuple[str | None, bytes, str | None]]


def _field(value: str) -> tuple[None, bytes, None]:
    """A plain multipart field (no filename, no content type), in the form's own order."""
    return (None, value.encode(), None)


def _generate(stack: Stack, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{stack.base_url}/images/generations",
        headers={**_auth(stack), "Content-Type": "application/json"},
        json=body,
        timeout=TIMEOUT,
    )


def _only_b64(item: dict[str, Any]) -> Image.Image:
    """The image a b64_json reader gets, with no URL needed to get it."""
    assert isinstance(item.get("b64_json"), str), item.keys()
    assert item["b64_json"]
    assert item.get("url") is None, item.keys()
    return open_image(base64.b64decode(item["b64_json"]))


def _download(url: Any) -> Image.Image:
    assert isinstance(url, str), url
    assert url.startswith("http"), url
    download = httpx.get(url, timeout=TIMEOUT)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "image/png"
    return open_image(download.content)


def test_librechat_generates_with_gpt_image_1_and_reads_b64_json(stack: Stack) -> None:
    """LibreChat's image_gen_oai tool (openai-node ``images.generate``).

    Source: danny-avila/LibreChat @ 8731432f64aaaf70633b0a60922ee8182baa630d,
    api/app/clients/tools/structured/OpenAIImageTools.js::

        resp = await openai.images.generate({
          model: imageModel,                      // IMAGE_GEN_OAI_MODEL || 'gpt-image-1'
          prompt: replaceUnwantedChars(prompt),
          n: Math.min(Math.max(1, n), 10),        // n = 1
          background,                             // 'auto'
          output_format,                          // imageOutputType: 'png'
          output_compression: <webp|jpeg only>,   // undefined for png: not sent
          quality,                                // 'auto'
          size,                                   // 'auto'
        });
        const base64Image = resp.data[0].b64_json;
        if (!base64Image) {
          return returnValue('No image data returned from OpenAI API. ...');
        }
        ... image_url: { url: `data:image/${output_format};base64,${base64Image}` }
    """
    # Given LibreChat's generation body, which sends no response_format
    sent = {
        "model": "gpt-image-1",
        "prompt": "a lighthouse at dusk",
        "n": 1,
        "background": "auto",
        "output_format": "png",
        "quality": "auto",
        "size": "auto",
    }
    # When it is posted as openai-node posts it
    response = _generate(stack, sent)
    # Then data[0].b64_json is there (no "No image data returned"), and the data URL LibreChat
    # builds from it, data:image/png;base64,..., holds a PNG of one of gpt-image-1's sizes
    assert response.status_code == 200, response.text
    body = response.json()
    [item] = body["data"]
    image = _only_b64(item)
    assert image.format == "PNG"
    # size "auto": one of gpt-image-1's sizes, and the one the answer reports
    assert image.size in GPT_IMAGE_SIZES
    assert body.get("size") in (None, "{}x{}".format(*image.size))


def test_librechat_edits_with_one_file_as_image_brackets(stack: Stack) -> None:
    """LibreChat's image_edit_oai tool (axios + form-data, one file still sent as image[]).

    Source: danny-avila/LibreChat @ 8731432f64aaaf70633b0a60922ee8182baa630d,
    api/app/clients/tools/structured/OpenAIImageTools.js::

        const formData = new FormData();
        formData.append('model', imageModel);     // 'gpt-image-1'
        formData.append('prompt', replaceUnwantedChars(prompt));
        // TODO: `mask` support
        // formData.append('n', n.toString());
        formData.append('quality', quality);      // 'auto'
        formData.append('size', size);            // 'auto'
        ...
        formData.append('image[]', stream, { filename: imageFile.filename,
                                             contentType: imageFile.type });
        const response = await axios.post('/images/edits', formData, axiosConfig);
        const base64Image = response.data.data[0].b64_json;
        ... image_url: { url: `data:image/${imageOutputType};base64,${base64Image}` }  // png
    """
    # Given LibreChat's edit form: four fields, then its one stored image as image[], no n, no
    # mask, no response_format
    form: list[Part] = [
        ("model", _field("gpt-image-1")),
        ("prompt", _field("the same lighthouse, in snow")),
        ("quality", _field("auto")),
        ("size", _field("auto")),
        ("image[]", ("lighthouse.png", picture((1024, 1024), colour=(40, 90, 160)), "image/png")),
    ]
    # When it is posted to /images/edits
    response = httpx.post(
        f"{stack.base_url}/images/edits", headers=_auth(stack), files=form, timeout=TIMEOUT
    )
    # Then response.data.data[0].b64_json decodes to the PNG LibreChat labels image/png
    assert response.status_code == 200, response.text
    body = response.json()
    [item] = body["data"]
    image = _only_b64(item)
    assert image.format == "PNG"
    # size "auto": one of gpt-image-1's sizes, and the one the answer reports
    assert image.size in GPT_IMAGE_SIZES
    assert body.get("size") in (None, "{}x{}".format(*image.size))


def _assert_vercel_image_response_schema(body: dict[str, Any]) -> None:
    """What the AI SDK's openaiImageResponseSchema (zod) demands of an answer, or it throws
    "Invalid JSON response": data[].b64_json a string, the rest absent, null or typed."""
    nullable_str = ("background", "output_format", "size", "quality")
    assert body.get("created") is None or isinstance(body["created"], int | float)
    for name in nullable_str:
        assert body.get(name) is None or isinstance(body[name], str), (name, body[name])
    assert isinstance(body["data"], list)
    for item in body["data"]:
        assert isinstance(item.get("b64_json"), str), item.keys()
        revised = item.get("revised_prompt")
        assert revised is None or isinstance(revised, str)
    usage = body.get("usage")
    if usage is not None:
        assert isinstance(usage, dict)
        for name in ("input_tokens", "output_tokens", "total_tokens"):
            assert usage.get(name) is None or isinstance(usage[name], int | float), usage
        details = usage.get("input_tokens_details")
        if details is not None:
            for name in ("image_tokens", "text_tokens"):
                assert details.get(name) is None or isinstance(details[name], int | float)


def test_vercel_ai_sdk_edits_two_images_and_a_mask(stack: Stack) -> None:
    """The AI SDK's OpenAI image model, edit path (``generateImage`` with files and a mask).

    Source: vercel/ai @ ed857f50f112e23930b0c2dd8d532cc8bebbc911,
    packages/openai/src/image/openai-image-model.ts (condensed)::

        await postFormDataToApi({
          url: this.config.url({ path: '/images/edits', modelId: this.modelId }),
          formData: convertToFormData<OpenAIImageEditInput>({
            model: this.modelId,
            prompt,
            image: await Promise.all(files.map(file => new Blob([...], { type: file.mediaType }))),
            mask: mask != null ? await fileToBlob(mask) : undefined,
            n,
            size,
            quality: openaiOptions.quality,          // undefined: skipped
            ...
          }),
          successfulResponseHandler: createJsonResponseHandler(openaiImageResponseSchema),
        });
        return { images: response.data.map(item => item.b64_json), ... };

    packages/provider-utils/src/convert-to-form-data.ts: null/undefined values are skipped, a
    one-element array is appended as a single value and a longer one as repeated ``key[]``;
    a Blob appended to FormData is sent with the filename "blob". No response_format is sent
    on this path; packages/openai/src/image/openai-image-api.ts requires
    ``data: z.array(z.object({ b64_json: z.string(), ... }))``.
    """
    # Given the SDK's form for two 1024x1024 PNGs and a mask, n=1, size 1024x1024
    red = picture((1024, 1024), colour=(200, 30, 30))
    blue = picture((1024, 1024), colour=(30, 30, 200))
    form: list[Part] = [
        ("model", _field("gpt-image-1")),
        ("prompt", _field("a red kite over a blue sea")),
        ("image[]", ("blob", red, "image/png")),
        ("image[]", ("blob", blue, "image/png")),
        ("mask", ("blob", top_half_mask(1024, "alpha"), "image/png")),
        ("n", _field("1")),
        ("size", _field("1024x1024")),
    ]
    # When it is posted to /images/edits
    response = httpx.post(
        f"{stack.base_url}/images/edits", headers=_auth(stack), files=form, timeout=TIMEOUT
    )
    # Then the answer passes the SDK's response schema, and each b64_json is a 1024x1024 PNG
    assert response.status_code == 200, response.text
    body = response.json()
    _assert_vercel_image_response_schema(body)
    [item] = body["data"]
    image = _only_b64(item)
    assert (image.size, image.format) == ((1024, 1024), "PNG")


# LlamaIndex's body for an hd, vivid, 1792x1024 dall-e-3 picture, but its response_format.
LLAMA_INDEX_BODY = {
    "prompt": "a harbour at night",
    "n": 1,
    "model": "dall-e-3",
    "quality": "hd",
    "size": "1792x1024",
    "style": "vivid",
}


def test_llama_index_dall_e_3_hd_vivid_by_url(stack: Stack) -> None:
    """LlamaIndex's OpenAI image tool, download=False (the OpenAI Python SDK's JSON body).

    Source: run-llama/llama_index @ bde18a984acf01b1d03dd4fb6bec2a5d1d81ac46,
    llama-index-integrations/tools/llama-index-tools-openai/llama_index/tools/openai/
    image_generation/base.py (OpenAIImageGenerationToolSpec.image_generation)::

        response = self.client.images.generate(
            prompt=text,
            n=num_images,                                   # 1
            model=model,                                    # 'dall-e-3'
            quality=quality,                                # 'standard' | 'hd'
            size=size,                                      # one of dall-e-3's sizes
            response_format="b64_json" if download else "url",
            style=style,                                    # 'vivid'
            timeout=timeout,
        )
        if download:
            image_bytes = response.data[0].b64_json
            ext = get_extension(image_bytes)                # {"i": "png", "/": "jpg", ...}
            return (self.save_base64_image(image_bytes, filename),)
            # save_base64_image: image_data = base64.b64decode(base64_str)
            #                    with Image.open(BytesIO(image_data)) as img: img.save(...)
        return response.data[0].url
    """
    # Given LlamaIndex's tool asked for an hd, vivid, 1792x1024 picture (download=False)
    response = _generate(
        stack,
        {**LLAMA_INDEX_BODY, "response_format": "url"},
    )
    # Then data[0].url, which the tool hands back, downloads as a 1792x1024 PNG
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    image = _download(item["url"])
    assert (image.size, image.format) == ((1792, 1024), "PNG")


def test_llama_index_dall_e_3_hd_vivid_downloaded_as_b64_json(stack: Stack) -> None:
    """LlamaIndex's OpenAI image tool, download=True: the same call, asking for b64_json.

    Source: as above (run-llama/llama_index @ bde18a984acf01b1d03dd4fb6bec2a5d1d81ac46,
    llama-index-integrations/tools/llama-index-tools-openai/llama_index/tools/openai/
    image_generation/base.py)::

        response_format="b64_json" if download else "url",
        ...
        image_bytes = response.data[0].b64_json
        ext = get_extension(image_bytes)        # map.get(content[0], "jpg"), "i" -> "png"
        return (self.save_base64_image(image_bytes, filename),)
    """
    # Given the same request with download=True, which asks for b64_json instead
    response = _generate(
        stack,
        {**LLAMA_INDEX_BODY, "response_format": "b64_json"},
    )
    # Then data[0].b64_json starts as a PNG's base64 does ("i", so the tool saves a .png), and
    # decodes, as the tool decodes it, to a 1792x1024 PNG
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    image = _only_b64(item)
    assert item["b64_json"][0] == "i"
    assert (image.size, image.format) == ((1792, 1024), "PNG")


def test_langchain_dall_e_api_wrapper_reads_urls(stack: Stack) -> None:
    """LangChain's DallEAPIWrapper.run (the OpenAI Python SDK, no response_format).

    Source: langchain-ai/langchain-community @ bc87773064735e649cfd798185502e156d5e948a,
    libs/community/langchain_community/utilities/dalle_image_generator.py::

        model_name: str = Field(default="dall-e-2", alias="model")
        n: int = 1
        size: str = "1024x1024"
        separator: str = "\\n"
        quality: Optional[str] = "standard"
        ...
        response = self.client.generate(
            prompt=query, n=self.n, size=self.size, model=self.model_name,
            quality=self.quality,
        )
        image_urls = self.separator.join([item.url for item in response.data])
        return image_urls if image_urls else "No image was generated"
    """
    # Given the wrapper's defaults, with no response_format (dall-e-2 answers a URL by default)
    response = _generate(
        stack,
        {
            "prompt": "a fox in a snowy wood",
            "n": 1,
            "size": "1024x1024",
            "model": "dall-e-2",
            "quality": "standard",
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    # When the wrapper joins every item's url (a None there would break its str.join)
    urls = [item["url"] for item in data]
    assert len(urls) == 1
    assert all(isinstance(url, str) for url in urls)
    joined = "\n".join(urls)
    # Then each line of what it returns downloads as a 1024x1024 image
    for url in joined.split("\n"):
        image = _download(url)
        assert (image.size, image.format) == ((1024, 1024), "PNG")


def test_open_webui_default_dall_e_2_with_b64_json(stack: Stack) -> None:
    """Open WebUI's OpenAI image engine with its defaults (aiohttp, JSON body).

    Source: open-webui/open-webui @ 02530d501461ce58ab06231d7c2ef2024a141ddf,
    backend/open_webui/routers/images.py (image_generations, engine 'openai'; the
    ``image_config.`` prefixes left out)::

        model = IMAGE_GENERATION_MODEL if IMAGE_GENERATION_MODEL else 'dall-e-2'
        data = {
            'model': model,
            'prompt': form_data.prompt,
            'n': form_data.n,                                # 1
            **({'size': form_data.size or IMAGE_SIZE} ...),  # IMAGE_SIZE '512x512'
            **({} if re.match(IMAGE_URL_RESPONSE_MODELS_REGEX_PATTERN,   # '^gpt-image'
                              IMAGE_GENERATION_MODEL)
               else {'response_format': 'b64_json'}),
        }
        ...
        for image in res['data']:
            if image_url := image.get('url', None):
                image_data, content_type = await get_image_data(image_url, {...headers})
            else:
                image_data, content_type = await get_image_data(image['b64_json'])
                # no "data:" prefix: taken as image/png

    (backend/open_webui/config.py: IMAGE_URL_RESPONSE_MODELS_REGEX_PATTERN defaults to
    '^gpt-image', IMAGE_SIZE to '512x512'.)
    """
    # Given Open WebUI's body for its default model, which adds response_format b64_json
    response = _generate(
        stack,
        {
            "model": "dall-e-2",
            "prompt": "a teapot on a windowsill",
            "n": 1,
            "size": "512x512",
            "response_format": "b64_json",
        },
    )
    # Then no url sends it down its URL branch, and b64_json decodes to the 512x512 PNG it
    # stores as image/png
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    image = _only_b64(item)
    assert (image.size, image.format) == ((512, 512), "PNG")


@pytest.mark.parametrize("misspelt", ["gpt-image-l", "dall-e3"])
def test_a_misspelt_openai_name_is_not_found_never_a_fallback(stack: Stack, misspelt: str) -> None:
    # Given LibreChat's generation body with IMAGE_GEN_OAI_MODEL mistyped
    response = _generate(
        stack,
        {
            "model": misspelt,
            "prompt": "a lighthouse at dusk",
            "n": 1,
            "background": "auto",
            "output_format": "png",
            "quality": "auto",
            "size": "auto",
        },
    )
    # Then no model runs under a near name: a 404 naming the model
    assert response.status_code == 404, response.text
    assert_error(response.json(), type_="not_found_error", param="model", code="model_not_found")
    assert misspelt in response.json()["error"]["message"]
