"""The kinds of deployment the harness verifies, siblings behind one interface (deployment.py): its own compose stack
(compose.py), a swarm (swarm.py), the production stack (production.py), or a running one given by URL; what the
stacks the harness starts share (own.py); the run's mode (mode.py) and what the images are (images_info.py)."""
