"""chiso ("chỉ số", index): steer a province's administrative reform from live data."""


def __getattr__(name: str) -> str:
    # Read on first use: importlib.metadata costs a fifth of `chiso --help`.
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("chiso")
    except PackageNotFoundError:  # running from a source tree that was never installed
        value = "0+unknown"
    globals()["__version__"] = value
    return value
