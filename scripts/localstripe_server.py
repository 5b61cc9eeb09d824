"""Run localstripe (a stateful fake of the Stripe API, from PyPI) on one loopback address.

localstripe's own entry point binds every interface ('::') and pickles its whole store to
/tmp/localstripe.pickle after every write, which grows quadratically over a test run and is shared
by every checkout on the machine. This launcher serves the same aiohttp application bound to the
given host only, with the store kept in memory (a fresh, empty store at every start).

    python scripts/localstripe_server.py --host 127.0.0.1 --port 58420 [--pidfile FILE]
"""

import argparse
import logging
import os

from aiohttp import web
from localstripe import resources, server


def _keep_store_in_memory() -> None:
    # Persistence is localstripe's feature for long-lived dev servers; a test server starts empty.
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=58420)
    parser.add_argument("--pidfile", default="")
    args = parser.parse_args()

    _keep_store_in_memory()
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.INFO)
    web.run_app(server.app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
