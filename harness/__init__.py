"""The acceptance harness: provisioning, process launching, clients, actors, reporting."""
