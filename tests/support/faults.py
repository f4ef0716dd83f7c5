"""Fault injection shared by the bench tests: a board that dies in the middle of a command."""


def kill_after_sending(board, command: bytes, killed: list) -> None:
    """The next write containing `command` is sent, then the board process is killed (before
    it can reply), once; its pid is appended to `killed`."""
    link = board.dut.link
    send = link.write
    fired = []

    def write_then_die(data):
        send(data)
        if command in data and not fired:
            fired.append(True)
            killed.append(board.proc.pid)
            board.kill()

    link.write = write_then_die
