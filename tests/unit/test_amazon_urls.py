from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.amazon_urls import (
    MARKETPLACES,
    MAX_URL_LENGTH,
    AmazonProductRef,
    InvalidProductUrl,
    parse_amazon_url,
)


@pytest.mark.parametrize(
    ("url", "asin", "marketplace"),
    [
        ("https://www.amazon.es/dp/B08N5WRWNW", "B08N5WRWNW", "amazon.es"),
        ("http://amazon.com/dp/B08N5WRWNW", "B08N5WRWNW", "amazon.com"),
        ("https://smile.amazon.com/dp/B08N5WRWNW", "B08N5WRWNW", "amazon.com"),
        ("HTTPS://WWW.AMAZON.DE/dp/B08N5WRWNW", "B08N5WRWNW", "amazon.de"),
        ("https://www.amazon.co.uk/gp/product/B08N5WRWNW", "B08N5WRWNW", "amazon.co.uk"),
        (
            "https://www.amazon.es/Echo-Dot-Altavoz/dp/B08N5WRWNW/ref=sr_1_1?crid=2X&th=1#top",
            "B08N5WRWNW",
            "amazon.es",
        ),
        ("https://www.amazon.com.mx/dp/b08n5wrwnw/", "B08N5WRWNW", "amazon.com.mx"),
        ("https://www.amazon.com/exec/obidos/ASIN/1449373321", "1449373321", "amazon.com"),
        ("https://www.amazon.com/exec/obidos/asin/1449373321/ref=x", "1449373321", "amazon.com"),
        ("  https://www.amazon.es/dp/B08N5WRWNW  ", "B08N5WRWNW", "amazon.es"),
        ("https://www.amazon.es./dp/B08N5WRWNW", "B08N5WRWNW", "amazon.es"),
        ("https://www.amazon.es:443/dp/B08N5WRWNW", "B08N5WRWNW", "amazon.es"),
        ("https://www.amazon.es/DP/B08N5WRWNW", "B08N5WRWNW", "amazon.es"),
    ],
)
def test_accepts_product_links(url: str, asin: str, marketplace: str) -> None:
    assert parse_amazon_url(url) == AmazonProductRef(asin=asin, marketplace=marketplace)


def test_canonical_url_drops_slug_and_tracking() -> None:
    ref = parse_amazon_url("https://amazon.es/Echo/dp/b08n5wrwnw/ref=sr_1?tag=affiliate-21")
    assert ref.canonical_url == "https://www.amazon.es/dp/B08N5WRWNW"
    assert parse_amazon_url(ref.canonical_url) == ref


def _reason(url: str) -> str:
    with pytest.raises(InvalidProductUrl) as caught:
        parse_amazon_url(url)
    assert caught.value.message == str(caught.value)
    return caught.value.message


@pytest.mark.parametrize("url", ["", "   "])
def test_empty_input(url: str) -> None:
    assert "No product link" in _reason(url)


@pytest.mark.parametrize(
    "url",
    [
        "B08N5WRWNW",
        "www.amazon.es/dp/B08N5WRWNW",
        "ftp://www.amazon.es/dp/B08N5WRWNW",
        "javascript:alert(1)",
        "https:///dp/B08N5WRWNW",
    ],
)
def test_not_a_web_link(url: str) -> None:
    reason = _reason(url)
    assert "not a web link" in reason
    assert "https://www.amazon.es/dp/" in reason  # shows what a good link looks like


def test_unparseable_address() -> None:
    assert "not a valid web address" in _reason("https://[www.amazon.es/dp/B08N5WRWNW")


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.ebay.es/itm/123", "www.ebay.es"),
        ("https://amazon.es.evil.example/dp/B08N5WRWNW", "amazon.es.evil.example"),
        ("https://www.amazon.es@evil.example/dp/B08N5WRWNW", "evil.example"),
        ("https://m.amazon.es/dp/B08N5WRWNW", "m.amazon.es"),
        ("https://www.amazon.cn/dp/B08N5WRWNW", "www.amazon.cn"),
    ],
)
def test_not_an_amazon_store_names_the_domain(url: str, domain: str) -> None:
    reason = _reason(url)
    assert f"'{domain}' is not an Amazon store" in reason
    assert "amazon.es" in reason


def test_short_links_are_explained() -> None:
    reason = _reason("https://amzn.eu/d/abc123")
    assert "Short links (amzn.eu)" in reason
    assert "full address" in reason


@pytest.mark.parametrize(
    "url",
    [
        "https://www.amazon.es/",
        "https://www.amazon.es/s?k=mouse",
        "https://www.amazon.es/dp/",
        "https://www.amazon.es/gp/product/",
        "https://www.amazon.es/a/b/dp/B08N5WRWNW",  # dp too deep: not a product page format
        "https://www.amazon.com/exec/obidos/ASIN/",
        "https://www.amazon.es/gp/cart/view.html",
    ],
)
def test_no_product_id(url: str) -> None:
    reason = _reason(url)
    assert "no product id" in reason
    assert "/dp/" in reason


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://www.amazon.es/dp/B08N5", "B08N5"),
        ("https://www.amazon.es/dp/B08N5WRWNWX", "B08N5WRWNWX"),
        ("https://www.amazon.es/gp/product/B08N5-RWNW", "B08N5-RWNW"),
        ("https://www.amazon.com/exec/obidos/ASIN/14493733%21", "14493733%21"),
    ],
)
def test_malformed_asin(url: str, shown: str) -> None:
    reason = _reason(url)
    assert f"'{shown}' is not a valid Amazon product id (ASIN)" in reason
    assert "10 letters or digits" in reason


@pytest.mark.parametrize(
    "url",
    [
        "https://www.amazon.es/dp/B08N5WRWNW https://www.amazon.es/dp/B000000000",
        "https://www.amazon.es/dp/B08N5WRWNW\x00",
        "https://www.amazon.es/d\np/B08N5WRWNW",
    ],
)
def test_spaces_or_control_characters(url: str) -> None:
    assert "spaces or invisible characters" in _reason(url)


def test_absurdly_long_input() -> None:
    url = "https://www.amazon.es/dp/B08N5WRWNW?q=" + "x" * MAX_URL_LENGTH
    reason = _reason(url)
    assert f"the limit is {MAX_URL_LENGTH}" in reason


def test_limit_is_inclusive() -> None:
    base = "https://www.amazon.es/dp/B08N5WRWNW?q="
    url = base + "x" * (MAX_URL_LENGTH - len(base))
    assert parse_amazon_url(url).asin == "B08N5WRWNW"


def test_long_hosts_are_clipped_in_messages() -> None:
    host = "a" * 300 + ".example"
    reason = _reason(f"https://{host}/dp/B08N5WRWNW")
    assert host not in reason
    assert "..." in reason


# --- properties ---------------------------------------------------------------------------

_asins = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz",
    min_size=10,
    max_size=10,
)
_slugs = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_%", min_size=1, max_size=40)
_tails = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=_&-", max_size=30)


@given(
    asin=_asins,
    marketplace=st.sampled_from(MARKETPLACES),
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    prefix=st.sampled_from(["", "www.", "smile."]),
    shape=st.sampled_from(["dp", "slug_dp", "gp", "obidos"]),
    slug=_slugs,
    ref=st.none() | _tails.map(lambda t: "ref=" + t),
    query=st.none() | _tails,
    fragment=st.none() | _tails,
)
def test_generated_product_links_round_trip(
    asin: str,
    marketplace: str,
    scheme: str,
    prefix: str,
    shape: str,
    slug: str,
    ref: str | None,
    query: str | None,
    fragment: str | None,
) -> None:
    path = {
        "dp": f"/dp/{asin}",
        "slug_dp": f"/{slug}/dp/{asin}",
        "gp": f"/gp/product/{asin}",
        "obidos": f"/exec/obidos/ASIN/{asin}",
    }[shape]
    url = f"{scheme}://{prefix}{marketplace}{path}"
    if ref is not None:
        url += f"/{ref}"
    if query is not None:
        url += f"?{query}"
    if fragment is not None:
        url += f"#{fragment}"
    parsed = parse_amazon_url(url)
    assert parsed == AmazonProductRef(asin=asin.upper(), marketplace=marketplace)
    assert parse_amazon_url(parsed.canonical_url) == parsed


@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused_with_a_message(text: str) -> None:
    try:
        ref = parse_amazon_url(text)
    except InvalidProductUrl as err:
        assert err.message
    else:
        assert ref.marketplace in MARKETPLACES
        assert len(ref.asin) == 10
        assert ref.asin == ref.asin.upper()


@given(
    st.from_regex(
        r"https?://[a-zA-Z0-9.:@\[\]%-]{0,40}(/[^\s]{0,40}){0,5}(\?[^\s]{0,20})?", fullmatch=True
    )
)
def test_url_shaped_text_parses_or_is_refused_with_a_message(text: str) -> None:
    try:
        parse_amazon_url(text)
    except InvalidProductUrl as err:
        assert err.message
