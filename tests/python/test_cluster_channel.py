# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python driver unpickles workers' answers only when they come over
an authenticated, integrity-protected channel: a Slurm backend told to
use plain TCP off loopback is refused before anything is submitted."""

import pytest

from joblib_glib import Parallel, delayed
from joblib_glib._gi import Joblib
from joblib_glib._parallel import _check_channel


def _slurm(**props):
    backend = Joblib.SlurmBackend()
    for name, value in props.items():
        backend.set_property(name, value)
    return backend


def test_tls_is_the_default():
    assert _slurm().props.tls is True


@pytest.mark.parametrize("address", [None, "0.0.0.0", "192.0.2.7", "::"])
def test_plain_tcp_off_loopback_is_refused(address):
    backend = _slurm(tls=False, listen_address=address)
    with pytest.raises(ValueError, match="tls=False"):
        Parallel(n_jobs=2, backend=backend)(delayed(abs)(-i) for i in range(3))
    # Refused before listening: no job could have been sent the token.
    assert list(backend.get_job_ids()) == []
    assert backend.get_n_refused() == 0


@pytest.mark.parametrize("props", [
    {},                                              # TLS off loopback
    {"listen_address": "10.1.2.3"},                  # TLS, given address
    {"tls": False, "listen_address": "127.0.0.1"},   # plain, loopback
    {"tls": False, "listen_address": "::1"},
])
def test_protected_channels_are_allowed(props):
    _check_channel(_slurm(**props))


def test_other_backends_are_not_concerned():
    _check_channel(Joblib.ThreadBackend())
    _check_channel(None)
