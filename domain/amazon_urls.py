"""Reading an Amazon product link: which product (ASIN) on which marketplace.

Pure code. A link a person pasted either yields an `AmazonProductRef` or raises
`InvalidProductUrl` with a message that says what is wrong and what a good link looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

# The Amazon stores we accept links from. The single list: the catalog and validation use it.
MARKETPLACES: tuple[str, ...] = (
    "amazon.es",
    "amazon.com",
    "amazon.de",
    "amazon.co.uk",
    "amazon.fr",
    "amazon.it",
    "amazon.nl",
    "amazon.ca",
    "amazon.com.mx",
    "amazon.co.jp",
    "amazon.in",
    "amazon.com.au",
    "amazon.se",
    "amazon.pl",
    "amazon.com.be",
    "amazon.ie",
)

# Prefixes of the same store that are safe to drop (smile. was Amazon's charity front-end).
_HOST_PREFIXES = ("www.", "smile.")

# Short links hide the product: we cannot tell which one it is without a network request.
_SHORT_LINK_HOSTS = frozenset({"amzn.to", "amzn.eu", "amzn.asia", "a.co"})

# Far longer than any real product link; refusing early keeps pathological input cheap.
MAX_URL_LENGTH = 2000

_ASIN = re.compile(r"[A-Za-z0-9]{10}")
_EXAMPLE = "https://www.amazon.es/dp/B08N5WRWNW"
_LOOKS_LIKE = f"A product link looks like {_EXAMPLE}"


class InvalidProductUrl(ValueError):
    """A product link a person gave that we cannot use; `message` says what to do."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class AmazonProductRef:
    asin: str  # 10 characters, upper case
    marketplace: str  # one of MARKETPLACES, e.g. "amazon.es"

    @property
    def canonical_url(self) -> str:
        """The shortest stable link to the product, without tracking parameters."""
        return f"https://www.{self.marketplace}/dp/{self.asin}"


def parse_amazon_url(url: str) -> AmazonProductRef:
    text = url.strip()
    if not text:
        raise InvalidProductUrl(f"No product link was given. {_LOOKS_LIKE}.")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidProductUrl(
            f"That link is {len(text)} characters long; the limit is {MAX_URL_LENGTH}. "
            f"Paste only the product link. {_LOOKS_LIKE}."
        )
    # Whitespace or control characters inside mean two things were pasted together, and
    # urlsplit would quietly drop some of them.
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidProductUrl(
            f"That link contains spaces or invisible characters; paste only the link. "
            f"{_LOOKS_LIKE}."
        )
    parts = _split(text)
    marketplace = _marketplace(parts)
    asin = _asin(parts.path)
    return AmazonProductRef(asin=asin, marketplace=marketplace)


def _split(text: str) -> SplitResult:
    try:
        parts = urlsplit(text)
        host = parts.hostname  # parses the netloc, which can raise too
    except ValueError as err:
        raise InvalidProductUrl(
            f"'{_clip(text)}' is not a valid web address. {_LOOKS_LIKE}."
        ) from err
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidProductUrl(
            f"'{_clip(text)}' is not a web link (it should start with https://). {_LOOKS_LIKE}."
        )
    return parts


def _marketplace(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")  # a trailing dot is the same DNS name
    if host in _SHORT_LINK_HOSTS:
        raise InvalidProductUrl(
            f"Short links ({host}) do not say which product they point to. Open the link in "
            f"a browser and paste the full address from the address bar. {_LOOKS_LIKE}."
        )
    store = host
    for prefix in _HOST_PREFIXES:
        if store.startswith(prefix):
            store = store[len(prefix) :]
            break
    if store not in MARKETPLACES:
        raise InvalidProductUrl(
            f"'{_clip(host)}' is not an Amazon store we buy from. Use a link from one of: "
            f"{', '.join(MARKETPLACES)}. {_LOOKS_LIKE}."
        )
    return store


def _asin(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    keys = [s.lower() for s in segments]
    candidate: str | None = None
    # /dp/ASIN and /<slug>/dp/ASIN
    for at in (0, 1):
        if len(keys) > at + 1 and keys[at] == "dp":
            candidate = segments[at + 1]
            break
    # /gp/product/ASIN
    if candidate is None and len(keys) > 2 and keys[0:2] == ["gp", "product"]:
        candidate = segments[2]
    # /exec/obidos/ASIN/ASIN: the old store's format, still found in bookmarks
    if candidate is None and len(keys) > 3 and keys[0:3] == ["exec", "obidos", "asin"]:
        candidate = segments[3]
    if candidate is None:
        raise InvalidProductUrl(
            "That Amazon link does not point to a product page (there is no product id in it). "
            "Open the product and copy the address that contains /dp/ followed by a "
            f"10-character code. {_LOOKS_LIKE}."
        )
    if not _ASIN.fullmatch(candidate):
        raise InvalidProductUrl(
            f"'{_clip(candidate)}' is not a valid Amazon product id (ASIN): it must be exactly "
            f"10 letters or digits, like B08N5WRWNW. Copy the link again from the product page. "
            f"{_LOOKS_LIKE}."
        )
    return candidate.upper()


def _clip(text: str, limit: int = 80) -> str:
    """Keep messages readable when the input is long."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
