import pytest


def test_pass():
    pass


def test_pass_with_output():
    print("captured stdout goes to <system-out>")


def test_fail():
    assert 1 == 2


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_error_in_setup(broken):
    pass


@pytest.mark.skip(reason="not today")
def test_skip_with_reason():
    pass


def test_skip_without_reason():
    pytest.skip()


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    raise AssertionError


@pytest.mark.xfail(reason="maybe fixed")
def test_xpass():
    pass


class TestClass:
    @pytest.mark.parametrize("n", [1, 2])
    def test_method(self, n):
        assert n
