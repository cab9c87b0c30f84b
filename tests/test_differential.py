"""Random real-server TLS configurations: the guard's enumeration and verdicts against `openssl
s_client`'s ground truth, one suite per handshake. A handful of seeds here; hundreds from
``python3 -m tools.differential``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.differential import compare, random_config

# Chosen to cover: TLS 1.0 only with an ECDSA P-521 certificate and secp521r1; TLS 1.1-1.3 with
# sect571r1 and the CCM TLS 1.3 suites; DHE-only TLS 1.1-1.2 with restricted signature schemes.
SEEDS = (2, 3, 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_configuration_is_enumerated_as_s_client_finds_it_and_never_passes_falsely(
    seed: int, tmp_path: Path
) -> None:
    config = random_config(seed)
    result = compare(config, tmp_path)
    assert result.started, config
    assert result.missed == [], (config, "false refusals")
    assert result.extra == [], (config, "suites s_client could not confirm")
    assert result.false_passes == [], config


def test_the_same_seed_draws_the_same_configuration() -> None:
    assert random_config(7) == random_config(7)
    assert len({random_config(seed) for seed in range(20)}) == 20
