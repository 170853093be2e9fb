"""Choice of the torch device that encoders, translators and fine-tuning run on.

torch is imported only inside :func:`resolve_device`, so importing this module stays light.
"""

from __future__ import annotations

import re

from kgalign.errors import KgalignError

__all__ = ["resolve_device", "DeviceError"]

_CUDA = re.compile(r"^cuda(?::(\d+))?$")


class DeviceError(KgalignError, ValueError):
    """The requested device does not exist on this machine or is not a device name."""


def resolve_device(spec: str | None = "auto") -> str:
    """Turn a device request into a concrete torch device string.

    Parameters
    ----------
    spec : str or None
        ``"auto"`` (or None / ``""``): ``"cuda"`` when a CUDA device is visible, else ``"mps"``
        when Apple's Metal backend is available, else ``"cpu"``. ``"cpu"``, ``"cuda"``,
        ``"cuda:N"`` and ``"mps"`` are checked against what the machine has. Case and
        surrounding blanks are ignored.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Raises
    ------
    DeviceError
        For an unknown name, or a device this machine does not have (for instance ``"cuda"``
        without a GPU, or ``"cuda:3"`` with two GPUs). The message lists what is available.
    """
    name = (spec or "auto").strip().lower()
    if name == "cpu":
        return "cpu"
    cuda = _CUDA.match(name)
    if name not in ("auto", "mps") and cuda is None:
        raise DeviceError(f"unknown device {spec!r}: use auto, cpu, cuda, cuda:N or mps")

    import torch

    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    mps_backend = getattr(torch.backends, "mps", None)
    has_mps = bool(mps_backend is not None and mps_backend.is_available())

    if name == "auto":
        if n_cuda:
            return "cuda"
        return "mps" if has_mps else "cpu"
    if name == "mps":
        if not has_mps:
            raise DeviceError(f"device 'mps' is not available here; {_available(n_cuda, has_mps)}")
        return "mps"
    assert cuda is not None  # every other name was refused above
    index = cuda.group(1)
    if n_cuda == 0:
        raise DeviceError(f"device {spec!r} requested but no CUDA GPU is visible; {_available(n_cuda, has_mps)}")
    if index is not None and int(index) >= n_cuda:
        raise DeviceError(f"device {spec!r} does not exist; {_available(n_cuda, has_mps)}")
    return name


def _available(n_cuda: int, has_mps: bool) -> str:
    names = ["cpu"]
    if n_cuda:
        names += ["cuda"] + [f"cuda:{i}" for i in range(n_cuda)]
    if has_mps:
        names.append("mps")
    return "available: " + ", ".join(names)
