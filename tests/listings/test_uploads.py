"""listings/uploads.py through the services: what is accepted, what is stored, and what is refused.

Every refusal must leave nothing behind: no TechnologyImage / Attachment rows and no files under MEDIA_ROOT.
"""

import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from listings import services
from listings.models import Attachment, TechnologyImage
from tests.factories import TechnologyFactory

pytestmark = pytest.mark.django_db

RED, BLUE = (220, 20, 20), (20, 20, 220)


@pytest.fixture
def technology(university):
    return TechnologyFactory(organisation=university)


def media_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_nothing_saved():
    assert not TechnologyImage.objects.exists()
    assert not Attachment.objects.exists()
    assert media_files() == []


def exif_with_gps_and_orientation(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "EOS 5D"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (29.0, 39.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (91.0, 7.0, 0.0)
    return exif


def two_colour_image(size=(1600, 1200)) -> Image.Image:
    """Left half red, right half blue: shows which way a rotation went."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def upload(data: bytes, name: str, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def add_image(technology, seller, data: bytes, name: str = "photo.jpg"):
    return services.technology_add_image(technology=technology, upload=upload(data, name), by=seller)


def dominant(pixel) -> str:
    r, _g, b = pixel[:3]
    return "red" if r > b else "blue"


# ----------------------------------------------------------------- accepted images


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "photo.jpg"), ("PNG", "scan.png"), ("WEBP", "pic.webp")])
def test_jpeg_png_and_webp_are_stored_without_exif_and_with_webp_thumbnails(technology, seller, fmt, name):
    # given a photo carrying camera and GPS metadata
    data = encode(two_colour_image(), fmt, exif=exif_with_gps_and_orientation())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has GPS

    # when it is uploaded
    image = add_image(technology, seller, data, name)

    # then the stored original is the same format, same size, and carries no metadata at all
    with Image.open(image.image.path) as stored:
        assert stored.format == fmt
        assert stored.size == (1600, 1200) == (image.width, image.height)
        assert len(stored.getexif()) == 0
        assert "exif" not in stored.info
    assert b"Canon" not in Path(image.image.path).read_bytes()
    # and both thumbnails are WebP within their widths
    for field, limit in ((image.thumb_320, 320), (image.thumb_960, 960)):
        with Image.open(field.path) as thumb:
            assert thumb.format == "WEBP"
            assert thumb.width <= limit
            assert len(thumb.getexif()) == 0
    assert image.thumb_320.name.endswith(".webp") and image.thumb_960.name.endswith(".webp")
    assert len(media_files()) == 3


def test_the_exif_orientation_is_applied_to_the_pixels(technology, seller):
    # given a landscape JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6)
    data = encode(two_colour_image((400, 200)), "JPEG", exif=exif_with_gps_and_orientation(orientation=6))

    image = add_image(technology, seller, data)

    # then it is stored upright: portrait, with the former left (red) half on top
    assert (image.width, image.height) == (200, 400)
    with Image.open(image.image.path) as stored:
        assert stored.size == (200, 400)
        assert stored.getexif().get(ExifTags.Base.Orientation) is None
        assert dominant(stored.getpixel((100, 50))) == "red"
        assert dominant(stored.getpixel((100, 350))) == "blue"
    with Image.open(image.thumb_320.path) as thumb:
        assert thumb.height > thumb.width


def test_a_small_image_is_not_enlarged_for_its_thumbnails(technology, seller):
    image = add_image(technology, seller, encode(two_colour_image((200, 100)), "PNG"), "small.png")
    with Image.open(image.thumb_960.path) as thumb:
        assert thumb.size == (200, 100)


# ----------------------------------------------------------------- refused images


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "anim.gif"), ("BMP", "scan.bmp")])
def test_gif_and_bmp_are_refused(technology, seller, fmt, name):
    data = encode(two_colour_image((100, 100)), fmt)
    with pytest.raises(ValidationError, match="只支持 JPEG、PNG、WebP"):
        add_image(technology, seller, data, name)
    assert_nothing_saved()


def test_a_text_file_named_like_a_photo_is_refused(technology, seller):
    with pytest.raises(ValidationError, match="无法识别"):
        add_image(technology, seller, "这不是图片,只是一段文字。\n".encode() * 50, "photo.jpg")
    assert_nothing_saved()


def test_an_empty_file_is_refused(technology, seller):
    with pytest.raises(ValidationError, match="空文件"):
        add_image(technology, seller, b"", "photo.jpg")
    assert_nothing_saved()


def test_an_image_over_the_byte_limit_is_refused(technology, seller, settings):
    settings.IMAGE_MAX_BYTES = 50_000
    data = encode(Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)), "PNG")
    assert len(data) > 50_000
    with pytest.raises(ValidationError, match="不能超过"):
        add_image(technology, seller, data, "noise.png")
    assert_nothing_saved()


def test_a_real_image_over_10_mb_is_refused(technology, seller):
    # given a genuine PNG of random noise, about 11.4 MB, well under the pixel limit
    width, height = 2000, 1900
    data = encode(Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)), "PNG", compress_level=0)
    assert len(data) > 10 * 1024 * 1024 == django_settings.IMAGE_MAX_BYTES

    with pytest.raises(ValidationError, match="不能超过 10 MB"):
        add_image(technology, seller, data, "noise.png")
    assert_nothing_saved()


def test_an_image_over_40_megapixels_is_refused(technology, seller):
    # 8000 × 6000 = 48 megapixels; a flat PNG of that size is only a few hundred kB
    data = encode(Image.new("L", (8000, 6000), 128), "PNG")
    assert len(data) < 1024 * 1024
    with pytest.raises(ValidationError, match="像素过多"):
        add_image(technology, seller, data, "huge.png")
    assert_nothing_saved()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def test_a_decompression_bomb_is_refused_before_decoding(technology, seller):
    # given a tiny file whose PNG header claims 30000 × 30000 pixels (900 megapixels)
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 30001))
        + _png_chunk(b"IEND", b"")
    )
    assert len(data) < 200

    with pytest.raises(ValidationError, match="解压炸弹"):
        add_image(technology, seller, data, "bomb.png")
    assert_nothing_saved()


def test_a_truncated_jpeg_is_refused(technology, seller):
    noise = Image.frombytes("RGB", (800, 600), os.urandom(800 * 600 * 3))
    data = encode(noise, "JPEG", quality=90)
    with pytest.raises(ValidationError, match="损坏或不完整"):
        add_image(technology, seller, data[: len(data) // 2], "cut.jpg")
    assert_nothing_saved()


def test_images_of_a_technology_are_only_added_by_its_members(technology, buyer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        add_image(technology, buyer, encode(two_colour_image((100, 100)), "PNG"), "x.png")
    assert_nothing_saved()


# ----------------------------------------------------------------- PDF attachments


def real_pdf() -> bytes:
    """A genuine one-page PDF written by Pillow's PDF encoder."""
    return encode(two_colour_image((200, 100)), "PDF")


def add_pdf(technology, seller, data: bytes, name: str = "报告.pdf"):
    return services.listing_add_attachment(listing=technology, upload=upload(data, name), by=seller)


def test_a_real_pdf_is_accepted_and_stored(technology, seller):
    data = real_pdf()
    attachment = add_pdf(technology, seller, data, "成果评价报告.pdf")
    assert attachment.name == "成果评价报告.pdf" and attachment.size == len(data)
    assert Path(attachment.file.path).read_bytes() == data
    assert attachment.file.name.endswith(".pdf")
    assert len(media_files()) == 1


def test_a_png_renamed_to_pdf_is_refused(technology, seller):
    with pytest.raises(ValidationError, match="必须是 PDF"):
        add_pdf(technology, seller, encode(two_colour_image((100, 100)), "PNG"), "report.pdf")
    assert_nothing_saved()


def test_a_pdf_without_its_end_marker_is_refused(technology, seller):
    data = real_pdf()
    cut = data[: data.rindex(b"%%EOF")]
    with pytest.raises(ValidationError, match="不完整"):
        add_pdf(technology, seller, cut)
    assert_nothing_saved()


def test_a_pdf_over_20_mb_is_refused(technology, seller):
    # a well-formed PDF padded with a 21 MB comment: refused on size alone
    data = b"%PDF-1.4\n%" + b"x" * (21 * 1024 * 1024) + b"\n" + real_pdf()[9:]
    assert len(data) > django_settings.PDF_MAX_BYTES
    with pytest.raises(ValidationError, match="不能超过 20 MB"):
        add_pdf(technology, seller, data, "big.pdf")
    assert_nothing_saved()
