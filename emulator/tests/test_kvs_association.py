"""cf.kvs() needs a KeyValueStore associated with the function ("To use this
module in the function code, make sure that you have associated a key value
store with the function", Helper methods for key value stores,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html).
Without one the function fails, at the edge and in TestFunction, whatever
the code does with a store that is merely down."""

from support import EmulatorTest, viewer_request_association

# Reads the store as maint's window function does: a failed read lets the
# request through. Only a store that does not exist must not.
CODE = """import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  let s;
  try {
    const raw = await kvs.get('state');
    s = raw;
  } catch (e) {}
  if (s === 'on') {
    return { statusCode: 503, statusDescription: 'Service Unavailable' };
  }
  return event.request;
}
"""

EVENT = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}},
}


class KeyValueStoreAssociation(EmulatorTest):
    def test_test_function_without_a_store_reports_an_error(self):
        name, _, etag = self.emulator.function(CODE)
        result = self.emulator.test_function(name, etag, EVENT)
        self.assertTrue(result.get("FunctionErrorMessage"), result)
        self.assertIn("key value store", result["FunctionErrorMessage"].lower())
        self.assertFalse(result.get("FunctionOutput"), result)

    def test_test_function_with_a_store_runs(self):
        store = self.emulator.key_value_store({"other": "x"})
        name, _, etag = self.emulator.function(CODE, kvs_arn=store)
        result = self.emulator.test_function(name, etag, EVENT)
        self.assertFalse(result.get("FunctionErrorMessage"), result)
        self.assertIn('"request"', result["FunctionOutput"])

    def test_the_edge_without_a_store_answers_cloudfronts_function_error(self):
        origin = self.origin()
        _, arn, _ = self.emulator.function(CODE)
        _, domain = self.emulator.distribution(origin.port, viewer_request_association(arn))
        status, headers, body = self.emulator.viewer(domain, "GET", "/")
        self.assertEqual(status, 503, body)
        self.assertIn(("X-Cache", "FunctionExecutionError from cloudfront"), headers)
        self.assertEqual(origin.requests, [], "the request did not reach the origin")

    def test_the_edge_with_a_store_that_lacks_the_key_lets_the_request_through(self):
        origin = self.origin()
        store = self.emulator.key_value_store({"other": "x"})
        _, arn, _ = self.emulator.function(CODE, kvs_arn=store)
        _, domain = self.emulator.distribution(origin.port, viewer_request_association(arn))
        status, _, body = self.emulator.viewer(domain, "GET", "/")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(origin.requests), 1)

    def test_a_store_id_other_than_the_associated_one_fails(self):
        store = self.emulator.key_value_store({"state": "on"})
        code = CODE.replace("cf.kvs()", "cf.kvs('00000000-0000-0000-0000-000000000000')")
        name, _, etag = self.emulator.function(code, kvs_arn=store)
        result = self.emulator.test_function(name, etag, EVENT)
        self.assertTrue(result.get("FunctionErrorMessage"), result)

    def test_the_associated_store_id_is_accepted(self):
        store = self.emulator.key_value_store({"state": "on"})
        store_id = store.rsplit("/", 1)[-1]
        code = CODE.replace("cf.kvs()", f"cf.kvs('{store_id}')")
        name, _, etag = self.emulator.function(code, kvs_arn=store)
        result = self.emulator.test_function(name, etag, EVENT)
        self.assertFalse(result.get("FunctionErrorMessage"), result)
        self.assertIn('"statusCode":503', result["FunctionOutput"])
