"""Type stubs of the native module (the functions take the keywords of the public ones in
``radex/__init__.py`` as one dictionary and return the CLI's JSON text)."""

from typing import Any, Optional, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

class InputError(ValueError):
    """Bad input, found before any work: the message names the argument (as the CLI's flag),
    the value and the fix."""

class Network:
    """A fully connected network of MATH 9, ``F(x) = W_{l+1} h_l + b_{l+1}`` with
    ``h_i = phi(W_i h_{i-1} + b_i)``, sampled as radex samples it, built from given weights or
    read from a file (MATH 10); ``forward`` and ``grad`` are exact (MATH 2)."""

    @staticmethod
    def sample(
        arch: str = "2000,2000,2000",
        init: Optional[str] = None,
        seed: int = 1,
        trial: int = 0,
        sampler: str = "dense",
        precision: str = "f64",
        act: str = "relu",
        sigma_w2: Optional[float] = None,
        sigma_b: float = 0.0,
        outputs: int = 1,
        output_law: str = "gauss",
    ) -> Network: ...
    @staticmethod
    def from_weights(
        weights: Sequence[npt.NDArray[np.floating[Any]]],
        biases: Optional[Sequence[npt.NDArray[np.floating[Any]]]] = None,
        act: str = "relu",
        max_memory: Optional[str] = None,
    ) -> Network:
        """Weights ``W_i`` of shape ``(d_i, d_{i-1})`` and optional biases ``b_i`` of shape
        ``(d_i,)``, numpy arrays of float64, float32 or float16 (any other dtype raises
        :class:`InputError`); all float32 gives an f32 network. The memory needed is checked
        from the shapes against ``max_memory`` (as ``--max-memory``) before any copy."""
    @staticmethod
    def load(path: str, act: Optional[str] = None) -> Network: ...
    def forward(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def grad(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def weights(self) -> list[npt.NDArray[Any]]: ...
    @property
    def arch(self) -> str: ...
    @property
    def d(self) -> int: ...
    @property
    def widths(self) -> list[int]: ...
    @property
    def outputs(self) -> int: ...
    @property
    def act(self) -> str: ...
    @property
    def precision(self) -> str: ...

def attack(kw: dict[str, Any]) -> str: ...
def scaling(kw: dict[str, Any]) -> str: ...
def linearity(kw: dict[str, Any]) -> str: ...
def bottleneck(kw: dict[str, Any]) -> str: ...
def depth(kw: dict[str, Any]) -> str: ...
def phase(kw: dict[str, Any]) -> str: ...
def minpert(kw: dict[str, Any]) -> str: ...
def reproduce(kw: dict[str, Any]) -> tuple[str, str]: ...
def defaults() -> dict[str, dict[str, Optional[Any]]]: ...
