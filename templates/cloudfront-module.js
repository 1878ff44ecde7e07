// A stand-in for the CloudFront Functions `cloudfront` module (runtime
// cloudfront-js-2.0): only cf.kvs(), the KeyValueStore helper. The same file
// serves both engines: njs loads it as the module `cloudfront`, the Node
// harness evaluates its text. So it is written in what both accept (ES5 and
// Promise) and reads its data from `globalThis.__maint`:
//   entries: key -> value (strings, as the store holds them)
//   reads:   every get() is recorded, `key` or `key {options}`
//   down:    when true, every get() rejects, as an unreachable store would
// As on CloudFront, get() rejects for a key the store does not hold.
var store = {
  get: function (key, options) {
    var m = globalThis.__maint;
    m.reads.push(options === undefined ? key : key + ' ' + JSON.stringify(options));
    if (m.down) return Promise.reject(new Error('KeyValueStore unavailable'));
    if (!Object.prototype.hasOwnProperty.call(m.entries, key)) {
      return Promise.reject(new Error('KeyValueStore: key not found: ' + key));
    }
    var value = m.entries[key];
    var format = (options && options.format) || 'string';
    if (format === 'json') return Promise.resolve(JSON.parse(value));
    if (format !== 'string') return Promise.reject(new Error('KeyValueStore: unsupported format ' + format));
    return Promise.resolve(value);
  },
  exists: function (key) {
    return Promise.resolve(Object.prototype.hasOwnProperty.call(globalThis.__maint.entries, key));
  }
};

export default { kvs: function () { return store; } };
