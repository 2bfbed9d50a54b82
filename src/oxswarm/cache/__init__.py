"""The shared cache: Redis servers behind Twemproxy (nutcracker), as in Gluu Server.

- :mod:`oxswarm.cache.spec`: typed descriptions of a Twemproxy pool and a Redis node.
- :mod:`oxswarm.cache.render`: pure rendering of ``nutcracker.yml`` and ``redis.conf``.
- :mod:`oxswarm.cache.client`: :class:`~oxswarm.cache.client.Cache`, the client every
  service uses, speaking only commands Twemproxy accepts.
- :mod:`oxswarm.cache.stats`: Twemproxy's stats port (raw JSON over TCP).

See ``docs/cache.md`` for the behaviour when a Redis shard dies and returns.
"""
