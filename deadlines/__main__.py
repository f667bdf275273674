"""`python -m deadlines` and the `deadlines` command (pyproject's entry point): the command
line of `cli.py`, imported with the cyclic garbage collector paused."""

import gc


def run() -> None:
    # Importing the command line (click, the rulebook model, the engine) allocates objects that
    # all live until the process ends: the cyclic collector would go over them some twenty
    # times and free nothing, about 3 ms of a one-off command (bench/startup.py). It is on
    # again before the command runs, so a long one (serve, build) collects as usual.
    gc.disable()
    try:
        from .cli import main
    finally:
        gc.enable()
    main()


if __name__ == "__main__":
    run()
