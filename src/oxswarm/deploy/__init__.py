"""Multi-host deployment: render (pure: cluster spec -> stack files) and reconcile (idempotent).

Sub-modules: :mod:`.spec` (the typed cluster spec), :mod:`.render` (stack, NGINX and
load-balancer configuration), :mod:`.docker` (the Docker CLI behind a small interface),
:mod:`.swarm` (init/join/labels/network), :mod:`.lab` (nodes as network namespaces, each
with its own dockerd), :mod:`.image` (base image and build) and :mod:`.deployer`
(``oxswarm up`` / ``down`` / ``status``).
"""
