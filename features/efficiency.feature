@efficiency
Feature: The queue and the server add little to what the model costs
  Researchers should get the machine's capacity, not lose a share of it to
  bookkeeping.  Four researchers' batches go through the whole queue (the API,
  PostgreSQL, the worker) to the inference server; in the same run, alternating
  with them, four clients send the same images straight to that inference
  server.  The system runs with its production settings.  Every figure is a
  ratio measured in this run: CPU seconds come from each process's own
  accounting, so the clients' CPU does not blur what the system spends.

  Background:
    Given 4 researchers, each with a project of 40 spheroid images of 288 by 224 pixels

  Rule: per job, the queue's bookkeeping costs a small part of what the model costs

    @parallel @perf
    Scenario: The worker, the API and PostgreSQL spend a small part of what the inference server spends
      When their batches go through the queue, alternating with 4 clients sending the same images to the inference server, 2 rounds each
      Then per job, the worker, the API and PostgreSQL together spend at most 40% of the CPU the inference server spends

  Rule: researchers get nearly all the throughput the inference server has

    @perf
    Scenario: Four researchers through the queue get nearly what four clients get from the inference server directly
      When their batches go through the queue, alternating with 4 clients sending the same images to the inference server, 3 rounds each
      Then the researchers get at least 90% of the direct clients' throughput
