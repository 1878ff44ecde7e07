//! A static check of the rules AWS documents for CloudFront Functions runtime
//! 2.0, on the function exactly as `maint function` renders it.
//!
//! njs and Node run the function in tests/integration/function_runtime.rs, but an engine
//! only refuses what its version refuses: njs 0.9.7 accepts `await` in call
//! arguments, which CloudFront refuses. So the documented rules are also
//! checked here, on a real JavaScript parse (oxc), each with a test that feeds
//! it offending code. Sources (AWS CloudFront Developer Guide):
//! - "JavaScript runtime 2.0 features for CloudFront Functions"
//!   (functions-javascript-runtime-20.html): the supported statements,
//!   "`async` arguments and closures are not supported", the restricted
//!   features (eval, the Function constructor, timers, no `process`, no file
//!   system, no network), console.log without comma syntax, the modules.
//! - "Use async and await" (async-await-syntax.html); CloudFront's
//!   TestFunction answers `SyntaxError: await in arguments not supported`.
//! - "Quotas on CloudFront Functions": function code at most 10 KB.

use std::process::Command;

use oxc_allocator::{Allocator, Vec as ArenaVec};
use oxc_ast::ast::{
    Argument, ArrayAssignmentTarget, ArrayPattern, ArrowFunctionExpression, AssignmentExpression,
    AssignmentOperator, AwaitExpression, CallExpression, ChainExpression, Class, Expression,
    ForOfStatement, Function, FunctionType, IdentifierReference, ImportDeclaration,
    ImportExpression, LogicalExpression, LogicalOperator, ObjectAssignmentTarget, ObjectPattern,
    SpreadElement, YieldExpression,
};
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::SourceType;
use oxc_syntax::scope::ScopeFlags;

/// CloudFront Functions' code limit, in bytes (not adjustable).
const MAX_CODE_BYTES: usize = 10_240;
/// The modules the function may load: `cloudfront` (the KeyValueStore
/// helper, by `import`) and `crypto` (by `require`).
const MODULES: [&str; 2] = ["cloudfront", "crypto"];
/// Globals the runtime does not have, or throws on.
const FORBIDDEN_GLOBALS: [&str; 13] = [
    "eval",
    "Function",
    "setTimeout",
    "setInterval",
    "setImmediate",
    "clearTimeout",
    "clearInterval",
    "clearImmediate",
    "process",
    "XMLHttpRequest",
    "fetch",
    "WebSocket",
    "queueMicrotask",
];

/// Every method the function may call, by name: the lists of
/// "JavaScript runtime 2.0 features for CloudFront Functions"
/// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html,
/// read 2026-12), whatever the receiver (a static check cannot know it),
/// plus the helpers of the `cloudfront` module ("Helper methods for key
/// value stores") and console.log. The page lists methods per built-in;
/// where it says "All ES 5.1 Date features" or "All ES 5.1 math methods",
/// the ES 5.1 names are listed here. Not on the page, so refused:
/// `charCodeAt` (String lists `fromCharCode`, `charAt`, … but not it), the
/// removed `toUTF8`, `fromUTF8`, `toBytes`, `fromBytes` and `bytesFrom`
/// (njs 0.7.9 still has them), and anything newer or non-standard.
const METHODS: &[&str] = &[
    // Object (ES 5.1, 6, 8, and the prototype)
    "create",
    "defineProperties",
    "defineProperty",
    "freeze",
    "getOwnPropertyDescriptor",
    "getOwnPropertyDescriptors",
    "getOwnPropertyNames",
    "getPrototypeOf",
    "isExtensible",
    "isFrozen",
    "isSealed",
    "keys",
    "preventExtensions",
    "seal",
    "assign",
    "entries",
    "values",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toString",
    "valueOf",
    "is",
    "setPrototypeOf",
    // String
    "fromCharCode",
    "fromCodePoint",
    "charAt",
    "concat",
    "indexOf",
    "lastIndexOf",
    "match",
    "replace",
    "search",
    "slice",
    "split",
    "substr",
    "substring",
    "toLowerCase",
    "trim",
    "toUpperCase",
    "codePointAt",
    "endsWith",
    "includes",
    "repeat",
    "startsWith",
    "padStart",
    "padEnd",
    "trimStart",
    "trimEnd",
    "replaceAll",
    // Number
    "isFinite",
    "isInteger",
    "isNaN",
    "isSafeInteger",
    "parseInt",
    "parseFloat",
    "toExponential",
    "toFixed",
    "toPrecision",
    // Math (ES 5.1 and 6)
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cbrt",
    "ceil",
    "clz32",
    "cos",
    "cosh",
    "exp",
    "expm1",
    "floor",
    "fround",
    "hypot",
    "imul",
    "log",
    "log1p",
    "log2",
    "log10",
    "max",
    "min",
    "pow",
    "random",
    "round",
    "sign",
    "sinh",
    "sin",
    "sqrt",
    "tan",
    "tanh",
    "trunc",
    // Date: "All ES 5.1 Date features are supported" (ES 5.1, 15.9)
    "now",
    "parse",
    "UTC",
    "getTime",
    "getFullYear",
    "getUTCFullYear",
    "getMonth",
    "getUTCMonth",
    "getDate",
    "getUTCDate",
    "getDay",
    "getUTCDay",
    "getHours",
    "getUTCHours",
    "getMinutes",
    "getUTCMinutes",
    "getSeconds",
    "getUTCSeconds",
    "getMilliseconds",
    "getUTCMilliseconds",
    "getTimezoneOffset",
    "setTime",
    "toISOString",
    "toJSON",
    "toUTCString",
    "toDateString",
    "toTimeString",
    // RegExp
    "exec",
    "test",
    // JSON
    "stringify",
    // Array
    "isArray",
    "of",
    "every",
    "filter",
    "forEach",
    "join",
    "map",
    "pop",
    "push",
    "reduce",
    "reduceRight",
    "reverse",
    "shift",
    "some",
    "sort",
    "splice",
    "unshift",
    "copyWithin",
    "fill",
    "find",
    "findIndex",
    // crypto (require('crypto'))
    "createHash",
    "createHmac",
    "update",
    "digest",
    // the cloudfront module: cf.kvs(), and the store's get/exists/meta
    "kvs",
    "get",
    "exists",
    "meta",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// A method the runtime's documented lists do not name.
    BuiltIn,
    Parses,
    Size,
    AwaitInArguments,
    AsyncClosure,
    ForbiddenGlobal,
    Module,
    UnsupportedSyntax,
    ConsoleLog,
}

#[derive(Debug)]
struct Violation {
    rule: Rule,
    line: usize,
    what: String,
}

/// Every documented rule the code breaks, with its line.
fn check(code: &str) -> Vec<Violation> {
    let mut found = Vec::new();
    if code.len() > MAX_CODE_BYTES {
        found.push(Violation {
            rule: Rule::Size,
            line: 0,
            what: format!("{} bytes, over the {MAX_CODE_BYTES}-byte limit", code.len()),
        });
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, code, SourceType::mjs()).parse();
    if parsed.panicked || !parsed.diagnostics.is_empty() {
        found.push(Violation {
            rule: Rule::Parses,
            line: 0,
            what: format!("does not parse: {:?}", parsed.diagnostics),
        });
        return found;
    }
    let mut checker = Checker {
        code,
        found,
        functions: 0,
        in_arguments: 0,
    };
    checker.visit_program(&parsed.program);
    checker.found
}

struct Checker<'s> {
    code: &'s str,
    found: Vec<Violation>,
    /// How many functions enclose the node being visited.
    functions: usize,
    /// How many call argument lists enclose it, within the innermost function.
    in_arguments: usize,
}

impl Checker<'_> {
    fn report(&mut self, rule: Rule, at: u32, what: impl Into<String>) {
        let line = self.code[..at as usize].matches('\n').count() + 1;
        self.found.push(Violation {
            rule,
            line,
            what: what.into(),
        });
    }

    fn module(&mut self, name: &str, at: u32) {
        if !MODULES.contains(&name) {
            self.report(
                Rule::Module,
                at,
                format!("module `{name}`: only cloudfront and crypto are allowed"),
            );
        }
    }

    /// Runs `inside` as the body of a function: argument lists outside it
    /// do not count.
    fn in_function(&mut self, inside: impl FnOnce(&mut Self)) {
        let arguments = std::mem::take(&mut self.in_arguments);
        self.functions += 1;
        inside(self);
        self.functions -= 1;
        self.in_arguments = arguments;
    }
}

impl<'a> Visit<'a> for Checker<'_> {
    fn visit_await_expression(&mut self, it: &AwaitExpression<'a>) {
        if self.in_arguments > 0 {
            self.report(
                Rule::AwaitInArguments,
                it.span.start,
                "`await` inside a call's arguments: write `const v = await ...;` first",
            );
        }
        walk::walk_await_expression(self, it);
    }

    fn visit_arguments(&mut self, it: &ArenaVec<'a, Argument<'a>>) {
        self.in_arguments += 1;
        walk::walk_arguments(self, it);
        self.in_arguments -= 1;
    }

    fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
        if it.r#async && (it.r#type != FunctionType::FunctionDeclaration || self.functions > 0) {
            self.report(
                Rule::AsyncClosure,
                it.span.start,
                "an async function expression or nested async function",
            );
        }
        if it.generator {
            self.report(Rule::UnsupportedSyntax, it.span.start, "a generator");
        }
        self.in_function(|me| walk::walk_function(me, it, flags));
    }

    fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
        if it.r#async {
            self.report(Rule::AsyncClosure, it.span.start, "an async arrow function");
        }
        self.in_function(|me| walk::walk_arrow_function_expression(me, it));
    }

    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        if FORBIDDEN_GLOBALS.contains(&it.name.as_str()) {
            self.report(
                Rule::ForbiddenGlobal,
                it.span.start,
                format!("`{}`, which the runtime does not provide", it.name),
            );
        }
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        match &it.callee {
            Expression::Identifier(id) if id.name == "require" => match it.arguments.as_slice() {
                [Argument::StringLiteral(name)] => self.module(&name.value, it.span.start),
                _ => self.report(
                    Rule::Module,
                    it.span.start,
                    "require() of anything but a module name",
                ),
            },
            Expression::StaticMemberExpression(member) => {
                let console =
                    matches!(&member.object, Expression::Identifier(o) if o.name == "console");
                if !console && !METHODS.contains(&member.property.name.as_str()) {
                    self.report(
                        Rule::BuiltIn,
                        it.span.start,
                        format!(
                            "`.{}()`, which runtime 2.0's documented lists do not name",
                            member.property.name
                        ),
                    );
                }
                if let Expression::Identifier(object) = &member.object
                    && object.name == "console"
                    && (member.property.name != "log" || it.arguments.len() != 1)
                {
                    self.report(
                        Rule::ConsoleLog,
                        it.span.start,
                        "only console.log with one argument is supported",
                    );
                }
            }
            _ => {}
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
        self.module(&it.source.value, it.span.start);
        walk::walk_import_declaration(self, it);
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        self.report(Rule::Module, it.span.start, "a dynamic import()");
        walk::walk_import_expression(self, it);
    }

    // What runtime 2.0 does not list among its features.
    fn visit_class(&mut self, it: &Class<'a>) {
        self.report(Rule::UnsupportedSyntax, it.span.start, "a class");
        walk::walk_class(self, it);
    }

    fn visit_yield_expression(&mut self, it: &YieldExpression<'a>) {
        self.report(Rule::UnsupportedSyntax, it.span.start, "yield");
        walk::walk_yield_expression(self, it);
    }

    fn visit_for_of_statement(&mut self, it: &ForOfStatement<'a>) {
        self.report(Rule::UnsupportedSyntax, it.span.start, "for...of");
        walk::walk_for_of_statement(self, it);
    }

    fn visit_spread_element(&mut self, it: &SpreadElement<'a>) {
        self.report(Rule::UnsupportedSyntax, it.span.start, "spread (...)");
        walk::walk_spread_element(self, it);
    }

    fn visit_object_pattern(&mut self, it: &ObjectPattern<'a>) {
        self.report(Rule::UnsupportedSyntax, it.span.start, "destructuring");
        walk::walk_object_pattern(self, it);
    }

    fn visit_array_pattern(&mut self, it: &ArrayPattern<'a>) {
        self.report(Rule::UnsupportedSyntax, it.span.start, "destructuring");
        walk::walk_array_pattern(self, it);
    }

    fn visit_chain_expression(&mut self, it: &ChainExpression<'a>) {
        self.report(
            Rule::UnsupportedSyntax,
            it.span.start,
            "optional chaining (?.)",
        );
        walk::walk_chain_expression(self, it);
    }

    fn visit_logical_expression(&mut self, it: &LogicalExpression<'a>) {
        if it.operator == LogicalOperator::Coalesce {
            self.report(
                Rule::UnsupportedSyntax,
                it.span.start,
                "nullish coalescing (??)",
            );
        }
        walk::walk_logical_expression(self, it);
    }

    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        if matches!(
            it.operator,
            AssignmentOperator::LogicalNullish
                | AssignmentOperator::LogicalAnd
                | AssignmentOperator::LogicalOr
        ) {
            self.report(Rule::UnsupportedSyntax, it.span.start, "logical assignment");
        }
        walk::walk_assignment_expression(self, it);
    }

    fn visit_array_assignment_target(&mut self, it: &ArrayAssignmentTarget<'a>) {
        self.report(Rule::UnsupportedSyntax, it.span.start, "destructuring");
        walk::walk_array_assignment_target(self, it);
    }

    fn visit_object_assignment_target(&mut self, it: &ObjectAssignmentTarget<'a>) {
        self.report(Rule::UnsupportedSyntax, it.span.start, "destructuring");
        walk::walk_object_assignment_target(self, it);
    }
}

/// The rules `code` breaks, as `(rule, line)`.
fn broken(code: &str) -> Vec<(Rule, usize)> {
    check(code).iter().map(|v| (v.rule, v.line)).collect()
}

// --- The rendered function keeps every rule -------------------------------

fn rendered(window_yaml: &str, files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let config = dir.path().join("maint.yaml");
    std::fs::write(
        &config,
        format!(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n{window_yaml}"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_maint"))
        .arg("--config")
        .arg(&config)
        .args(["-q", "function"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_rendered_function_keeps_every_documented_rule() {
    let configs = [
        // The defaults: the built-in page, no bypass.
        ("      retry_after: 300\n".to_string(), vec![]),
        // Everything configured.
        (
            "      message: \"Back at 14:00 UTC: <b>thanks</b> & \\\"sorry\\\" \\u2028 ${x} `y`\"\n      api_paths: [/api/*]\n      bypass:\n        cidrs: [10.0.0.0/8, 2001:db8::/32]\n        open_paths: [/health, /webhooks/*]\n        secret_env: MAINT_BYPASS_SECRET\n"
                .to_string(),
            vec![],
        ),
        // Custom templates holding what looks like code.
        (
            "      template: page.html\n      json_template: page.json\n".to_string(),
            vec![
                (
                    "page.html",
                    "<script>await fetch('/x'); eval(1)</script><p>{{ message }}</p>",
                ),
                ("page.json", "{\"m\": {{ message }}, \"code\": \"require('fs')\"}"),
            ],
        ),
    ];
    for (yaml, files) in configs {
        let code = rendered(&yaml, &files);
        let found: Vec<String> = check(&code)
            .iter()
            .map(|v| format!("line {}: {:?}: {}", v.line, v.rule, v.what))
            .collect();
        assert!(found.is_empty(), "{}\n{code}", found.join("\n"));
    }
}

#[test]
fn the_function_as_shipped_before_this_check_is_refused() {
    // The form that would have taken every covered site down on AWS.
    let old = "import cf from 'cloudfront';\nconst kvs = cf.kvs();\nasync function handler(event) {\n  let s;\n  try { s = JSON.parse(await kvs.get('state')); } catch (e) {}\n  return event.request;\n}\n";
    assert_eq!(broken(old), [(Rule::AwaitInArguments, 5)]);
}

// --- Each rule, fed code that breaks it ------------------------------------

fn wrap(body: &str) -> String {
    format!("import cf from 'cloudfront';\nasync function handler(event) {{\n{body}\n}}\n")
}

#[test]
fn await_in_call_arguments_is_refused() {
    assert_eq!(
        broken(&wrap("  return JSON.parse(await cf.kvs().get('k'));")),
        [(Rule::AwaitInArguments, 3)]
    );
    assert_eq!(
        broken(&wrap("  const o = new Thing(1, await x);")),
        [(Rule::AwaitInArguments, 3)]
    );
    assert_eq!(
        broken(&wrap("  f(g(1), [h(await y)]);")),
        [(Rule::AwaitInArguments, 3)]
    );
    // Hoisted, it is fine.
    assert!(
        broken(&wrap(
            "  const raw = await cf.kvs().get('k');\n  return JSON.parse(raw);"
        ))
        .is_empty()
    );
}

#[test]
fn async_closures_are_refused() {
    assert_eq!(
        broken(&wrap("  const f = async () => 1;")),
        [(Rule::AsyncClosure, 3)]
    );
    assert_eq!(
        broken(&wrap("  const f = async function () { return 1; };")),
        [(Rule::AsyncClosure, 3)]
    );
    assert_eq!(
        broken(&wrap("  async function inner() {}")),
        [(Rule::AsyncClosure, 3)]
    );
    assert_eq!(
        broken(&wrap("  const o = { async m() {} };")),
        [(Rule::AsyncClosure, 3)]
    );
    // Top-level async function declarations are what the runtime supports.
    assert!(broken("async function helper() { return 1; }\nasync function handler(e) { const v = await helper(); return v; }\n").is_empty());
}

#[test]
fn forbidden_globals_are_refused() {
    for (body, line) in [
        ("  eval('1');", 3),
        ("  const f = new Function('return 1');", 3),
        ("  setTimeout(() => 1, 10);", 3),
        ("  const e = process.env;", 3),
        ("  fetch('https://example.com');", 3),
    ] {
        assert_eq!(
            broken(&wrap(body)),
            [(Rule::ForbiddenGlobal, line)],
            "{body}"
        );
    }
    // The same names as properties are fine.
    assert!(
        broken(&wrap(
            "  const o = { eval: 1, process: 2 };\n  return o.process;"
        ))
        .is_empty()
    );
}

#[test]
fn modules_other_than_cloudfront_and_crypto_are_refused() {
    assert_eq!(
        broken("import fs from 'fs';\nasync function handler(e) { return e.request; }\n"),
        [(Rule::Module, 1)]
    );
    assert_eq!(
        broken(&wrap("  const qs = require('querystring');")),
        [(Rule::Module, 3)]
    );
    assert_eq!(
        broken(&wrap(
            "  const name = 'crypto';\n  const c = require(name);"
        )),
        [(Rule::Module, 4)]
    );
    assert_eq!(
        broken(&wrap("  const m = import('cloudfront');")),
        [(Rule::Module, 3)]
    );
    assert!(broken(&wrap("  const crypto = require('crypto');")).is_empty());
}

#[test]
fn code_over_ten_kilobytes_is_refused() {
    let padding = format!("// {}\n", "x".repeat(MAX_CODE_BYTES));
    let code = format!("{}{padding}", wrap("  return event.request;"));
    assert_eq!(broken(&code), [(Rule::Size, 0)]);
    let fits = wrap("  return event.request;");
    assert!(broken(&fits).is_empty());
}

#[test]
fn syntax_the_runtime_does_not_list_is_refused() {
    for body in [
        "  class A {}",
        "  for (const x of [1]) {}",
        "  const a = [...event.list];",
        "  const { request } = event;",
        "  const [first] = event.list;",
        "  let a, b;\n  [a, b] = [1, 2];",
        "  return event?.request;",
        "  return event.request ?? null;",
        "  let a;\n  a ??= 1;",
    ] {
        let found = broken(&wrap(body));
        assert!(
            !found.is_empty() && found.iter().all(|(r, _)| *r == Rule::UnsupportedSyntax),
            "{body}: {found:?}"
        );
    }
    assert_eq!(
        broken("function* gen() { yield 1; }\nasync function handler(e) { return e.request; }\n")
            .iter()
            .filter(|(r, _)| *r == Rule::UnsupportedSyntax)
            .count(),
        2
    );
    // Rest parameters, arrows, template literals and const/let are documented.
    assert!(
        broken(&wrap(
            "  const f = (a, ...rest) => `${a}${rest.length}`;\n  let n = f(1);"
        ))
        .is_empty()
    );
}

#[test]
fn console_takes_log_with_one_argument_only() {
    assert_eq!(
        broken(&wrap("  console.log('a', 'b');")),
        [(Rule::ConsoleLog, 3)]
    );
    assert_eq!(
        broken(&wrap("  console.error('a');")),
        [(Rule::ConsoleLog, 3)]
    );
    assert!(broken(&wrap("  console.log('a' + 1);")).is_empty());
}

#[test]
fn methods_the_runtime_does_not_list_are_refused() {
    // charCodeAt: the String list names fromCharCode and charAt, not it;
    // toUTF8 and bytesFrom: removed in runtime 2.0, still in njs 0.7.9.
    let code = wrap(
        "const a = 'x'.charCodeAt(0);\n  const b = 'x'.toUTF8();\n  const c = String.bytesFrom([1]);\n  return event.request.uri.startsWith('/') ? event.request : event.request;",
    );
    assert_eq!(
        broken(&code),
        [(Rule::BuiltIn, 3), (Rule::BuiltIn, 4), (Rule::BuiltIn, 5)]
    );
}

#[test]
fn code_that_does_not_parse_is_refused() {
    assert_eq!(
        broken("async function handler(e) { return e.request;\n"),
        [(Rule::Parses, 0)]
    );
}
