"""Validation and processing of uploaded images and PDFs.

Images: JPEG/PNG/WebP only (by content), ≤ IMAGE_MAX_BYTES and ≤ IMAGE_MAX_PIXELS; decompression
bombs, truncated files and non-images are refused with a ValidationError in the active language. The stored
original is re-encoded from its pixels (so EXIF and other metadata are gone, orientation applied),
and WebP thumbnails are made for each size in IMAGE_THUMB_SIZES.
PDFs: ≤ PDF_MAX_BYTES, recognised by their %PDF- header and %%EOF trailer, whatever the name.
"""

import io
import re
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from PIL import Image, ImageFile, ImageOps

ImageFile.LOAD_TRUNCATED_IMAGES = False
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


@dataclass
class ProcessedImage:
    name: str
    original: ContentFile
    width: int
    height: int
    thumbs: dict[int, ContentFile] = field(default_factory=dict)

    def thumb_name(self, size: int) -> str:
        return f"{PurePath(self.name).stem}_{size}.webp"


def _read(upload, limit: int, what: str) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            _("%(what)s不能超过 %(limit)d MB(当前 %(size).1f MB)")
            % {"what": what, "limit": limit // (1024 * 1024), "size": size / 1024 / 1024}
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(_("%(what)s不能超过 %(limit)d MB") % {"what": what, "limit": limit // (1024 * 1024)})
    if not data:
        raise ValidationError(_("%(what)s是空文件") % {"what": what})
    return data


def safe_name(original: str, ext: str) -> str:
    stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", PurePath(original or "file").stem)[:40].strip("_") or "file"
    return f"{stem}_{uuid.uuid4().hex[:8]}.{ext}"


def process_image(upload) -> ProcessedImage:
    data = _read(upload, settings.IMAGE_MAX_BYTES, _("图片"))
    max_pixels = settings.IMAGE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format
            width, height = probe.size
            if fmt not in ALLOWED_FORMATS:
                raise ValidationError(
                    _("只支持 JPEG、PNG、WebP 图片,此文件为 %(format)s 格式") % {"format": fmt or _("未知")}
                )
            if width * height > max_pixels:
                raise ValidationError(
                    _("图片像素过多:%(width)d×%(height)d,上限为 %(max)d 百万像素")
                    % {"width": width, "height": height, "max": max_pixels // 1_000_000}
                )
            probe.load()  # decodes fully: truncated data raises here
            image = ImageOps.exif_transpose(probe)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(_("图片尺寸异常(疑似解压炸弹),已拒绝")) from exc
    except Image.UnidentifiedImageError as exc:
        raise ValidationError(_("无法识别的文件:请上传 JPEG、PNG 或 WebP 图片")) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("图片文件已损坏或不完整,请重新导出后上传")) from exc

    ext = ALLOWED_FORMATS[fmt]
    original = _encode(image, fmt)
    processed = ProcessedImage(
        name=safe_name(getattr(upload, "name", "image"), ext),
        original=original,
        width=image.width,
        height=image.height,
    )
    for size in settings.IMAGE_THUMB_SIZES:
        thumb = image.copy()
        thumb.thumbnail((size, size * 4), Image.Resampling.LANCZOS)
        processed.thumbs[size] = _encode(thumb, "WEBP", quality=82)
    return processed


def _encode(image: Image.Image, fmt: str, quality: int = 90) -> ContentFile:
    """Re-encode from pixels only: no EXIF, XMP, ICC comments or other metadata survive."""
    out = io.BytesIO()
    if fmt == "JPEG":
        image = image.convert("RGB")
        image.save(out, "JPEG", quality=quality, optimize=True)
    elif fmt == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        clean = Image.new(image.mode, image.size)
        if image.mode == "P":
            clean.putpalette(image.getpalette())
        clean.paste(image)
        clean.save(out, "PNG", optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
        image.save(out, "WEBP", quality=quality)
    return ContentFile(out.getvalue())


def validate_pdf(upload) -> str:
    """Return a display name for a valid PDF upload, or raise ValidationError."""
    data = _read(upload, settings.PDF_MAX_BYTES, pgettext("one uploaded file", "附件"))
    if not data.lstrip()[:5] == b"%PDF-":
        raise ValidationError(_("附件必须是 PDF 文件(按文件内容检查,而不是文件名)"))
    if b"%%EOF" not in data[-2048:]:
        raise ValidationError(_("PDF 文件不完整(缺少文件结尾),请重新导出后上传"))
    if hasattr(upload, "seek"):
        upload.seek(0)
    name = PurePath(getattr(upload, "name", "") or "附件.pdf").name
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    return name[:200]


def save_with_files(instance, files) -> None:
    """Write the files (``(field_file, name, content)``), then the row; if anything fails, remove the files
    written so far. Listing images and attachments and message attachments are all saved through this."""
    written = []
    try:
        for field_file, name, content in files:
            field_file.save(name, content, save=False)
            written.append(field_file)
        instance.save()
    except BaseException:
        for field_file in written:
            field_file.delete(save=False)
        raise
