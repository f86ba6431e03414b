from shop.pricing import discount, tax


def test_discount():
    assert discount(50, "HALF") == 25
    assert discount(50) == 50


def test_tax():
    assert tax(10) == 2
