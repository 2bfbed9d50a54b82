"""The ``lab`` driver: every node a network namespace with its own dockerd, on this machine.

Facts this follows (``shared/reference/lab.md``): the bridge lives in a namespace of its
own (a bridge in the root namespace has its traffic dropped once any dockerd ran there);
a veth from the root namespace gives the CLI, the tests and the builder an address on the
lab network; dockerd is started with ``nsenter --net`` (not ``ip netns exec``, which
remounts /sys); a dockerd leaves nsfs mounts under its exec root.
"""
