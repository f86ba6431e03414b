import pytest
from shop.cart import Cart


@pytest.mark.critical
def test_subtotal_adds_items():
    cart = Cart()
    cart.add("apple", 3, 0.5)
    cart.add("pear", 1, 2.0)
    assert cart.subtotal() == 3.5


@pytest.mark.critical
def test_rejects_non_positive_quantity():
    with pytest.raises(ValueError):
        Cart().add("apple", 0, 1.0)


def test_coupon_applies_over_fifty():
    cart = Cart()
    cart.add("box", 6, 10.0)
    assert cart.total("TENOFF") == 50.0


def test_bulk_discount():
    cart = Cart()
    cart.add("tv", 1, 200.0)
    assert cart.total() == 190.0


def test_coupon_and_bulk_discount_stack():
    # Deliberately wrong expectation: the demo gate tolerates one failing
    # non-critical test, but the pass-rate rule catches it.
    cart = Cart()
    cart.add("tv", 1, 120.0)
    assert cart.total("TENOFF") == 100.0


@pytest.mark.skip(reason="gift cards are not built yet")
def test_gift_card():
    raise NotImplementedError


@pytest.mark.parametrize("qty", [1, 2, 3])
def test_quantities_accumulate(qty):
    cart = Cart()
    cart.add("apple", qty, 1.0)
    cart.add("apple", qty, 1.0)
    assert cart.items["apple"][0] == 2 * qty
