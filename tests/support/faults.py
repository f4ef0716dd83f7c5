"""Fault injection shared by the bench tests: a board that dies in the middle of a command."""


def kill_after_sending(board, command: bytes, killed: list) -> None:
    """The next write containing `command` is sent but for its terminating `%`, then the board
    process is killed, once; its pid is appended to `killed`. Holding back the `%` makes sure
    the board cannot reply first: a board that sleeps until input arrives answers a short
    command within microseconds, before a kill right after the whole command would land."""
    link = board.dut.link
    send = link.write
    fired = []

    def write_then_die(data):
        if command in data and not fired and data.endswith(b"%"):
            send(data[:-1])
        else:
            send(data)
        if command in data and not fired:
            fired.append(True)
            killed.append(board.proc.pid)
            board.kill()

    link.write = write_then_die
