"""paraseg: the system under test (queue service, workers, inference server, web page)."""
