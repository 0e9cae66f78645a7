"""goswarm: build Go microservices and deploy them to Docker Swarm, health-gated and without downtime."""
__version__ = "0.2.0"
