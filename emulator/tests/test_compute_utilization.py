"""TestFunction's ComputeUtilization is "the amount of time that the function
took to run as a percentage of the maximum allowed time" (TestResult,
https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_TestResult.html),
a string holding a number from 0 to 100. The emulator measures the handler
on njs against a budget of its own (COMPUTE_BUDGET_MS in
corrections/cloudfront_functions.py): an estimate, but one that grows with
the work the function does."""

from support import EmulatorTest

TRIVIAL = "function handler(event) { return event.request; }\n"
# A loop that runs for `ms` milliseconds of wall-clock time (Date.now()
# advances inside one run on njs; on CloudFront it would not).
BUSY = """function handler(event) {
  var until = Date.now() + %d, n = 0;
  while (Date.now() < until) { n++; }
  event.request.headers['x-n'] = { value: String(n) };
  return event.request;
}
"""
SLOW = BUSY % 5

EVENT = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}},
}


class ComputeUtilization(EmulatorTest):
    def utilization(self, code):
        name, _, etag = self.emulator.function(code)
        result = self.emulator.test_function(name, etag, EVENT)
        self.assertFalse(result.get("FunctionErrorMessage"), result)
        value = result["ComputeUtilization"]
        self.assertIsInstance(value, str)
        self.assertRegex(value, r"^\d{1,3}$")
        self.assertTrue(0 <= int(value) <= 100, value)
        return int(value)

    def test_a_busy_function_uses_more_than_a_trivial_one(self):
        trivial = self.utilization(TRIVIAL)
        busy = self.utilization(BUSY % 1)
        self.assertLess(trivial, busy)
        self.assertLess(trivial, 50, "a function that does nothing is far from the limit")

    def test_a_function_over_the_budget_reports_100(self):
        self.assertEqual(self.utilization(SLOW), 100)

    def test_the_output_is_that_of_the_first_run(self):
        code = (
            "var runs = 0;\n"
            "function handler(event) { runs++; console.log('run ' + runs);\n"
            "  event.request.headers['x-run'] = { value: String(runs) }; return event.request; }\n"
        )
        name, _, etag = self.emulator.function(code)
        result = self.emulator.test_function(name, etag, EVENT)
        self.assertEqual(result["FunctionExecutionLogs"], ["run 1"])
        self.assertIn('"x-run":{"value":"1"}', result["FunctionOutput"])
