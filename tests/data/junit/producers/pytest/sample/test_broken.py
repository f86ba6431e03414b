import does_not_exist  # noqa: F401  - a module that fails to import: a collection error


def test_never_runs():
    pass
