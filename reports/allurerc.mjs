// Allure 3 report settings: one self-contained index.html that opens from disk, a
// history kept across runs, and categories that tell what kind of trouble a failure is.
//
// History: each run appends to reports/history/history.jsonl; CI keeps that folder
// between runs (cache it), so the report shows trends and each scenario's past.
export default {
  name: "paraseg acceptance",
  // Allure writes a run's files (quality-gate.json, test-results.json) to its output folder even when
  // `generate -o` names another: keep that folder under reports/, never at the repository's root.
  output: "reports/allure-report",
  historyPath: "reports/history/history.jsonl",
  historyLimit: 100,
  categories: [
    // The harness could not build the world the scenario needs: provisioning, processes, the browser.
    { name: "Infrastructure: the harness could not set up", matchers: [{ statuses: ["broken"], message: /ProvisioningError|ProcessFailed|printed no ready line|no Chromium|could not be provisioned/ }] },
    // A figure measured in the run fell short of what the feature states.
    { name: "Performance regression", matchers: [{ statuses: ["failed"], message: /throughput|ratio|latency|Jain|recovered|finished .* after it ended|grew by/ }] },
    { name: "Accessibility finding", matchers: [{ statuses: ["failed"], message: /axe|accessib/i }] },
    // An exception in a step, not an assertion: a defect of the harness or the test.
    { name: "Test or harness error", matchers: [{ statuses: ["broken"] }] },
    // An assertion about what the product does failed.
    { name: "Product defect", matchers: [{ statuses: ["failed"] }] },
  ],
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportLanguage: "en",
      },
    },
  },
};
