import socket

from newsflow.services.common import LOOPBACK, choose_port, outgoing_ports, port_is_free


def _listening_socket() -> socket.socket:
    server = socket.socket()
    server.bind((LOOPBACK, 0))
    server.listen()
    return server


def test_a_listening_port_is_not_free_and_a_closed_one_is():
    with _listening_socket() as server:
        port = server.getsockname()[1]
        assert not port_is_free(port)
    assert port_is_free(port)


def test_the_first_free_preferred_port_wins():
    with _listening_socket() as server:
        taken_by_other = server.getsockname()[1]
        free = choose_port([], taken=())
        assert choose_port([None, taken_by_other, free]) == free


def test_a_busy_default_falls_back_to_a_free_port_outside_the_taken_ones():
    with _listening_socket() as server:
        busy = server.getsockname()[1]
        chosen = choose_port([busy], taken={busy + 1})
        assert chosen not in (busy, busy + 1)
        assert port_is_free(chosen)


def test_a_port_already_chosen_for_another_role_is_not_chosen_again():
    first = choose_port([])
    assert choose_port([first], taken={first}) != first


def test_a_fallback_port_is_never_one_the_kernel_may_give_an_outgoing_connection():
    chosen = {choose_port() for _ in range(50)}
    assert not chosen & set(outgoing_ports())
    assert all(port_is_free(port) for port in chosen)
