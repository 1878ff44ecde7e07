"""What CloudFront sends a custom origin: the viewer's headers, cookies and
query strings that the cache behavior's policies forward, and nothing else.

"Other information from the viewer request, such as URL query strings, HTTP
headers, and cookies, is not included in the origin request by default"
(Control origin requests with a policy,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-origin-requests.html).
A behavior forwards:
- with a cache policy (CachePolicyId): the values its
  ParametersInCacheKeyAndForwardedToOrigin names ("All URL query strings,
  HTTP headers, and cookies that you include in the cache key ... are
  automatically included in origin requests"), plus those of its origin
  request policy (OriginRequestPolicyId), combined as the table in
  "Understand how origin request policies and cache policies work together"
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-how-origin-request-policies-and-cache-policies-work-together.html)
  says: a value either policy includes is included, except that two block
  lists exclude what either lists;
- without one, the legacy ForwardedValues, with the per-header behavior of
  "HTTP request headers and CloudFront behavior (custom and Amazon S3
  origins)" (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html):
  headers it does not name are forwarded, except those that table says
  CloudFront removes.

Policies are known by id: the AWS managed ones below (Use managed cache
policies, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html;
Use managed origin request policies,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
moto 5.2.5 has no CreateCachePolicy or CreateOriginRequestPolicy, so no
other policy can exist in the emulator: CreateDistribution and
UpdateDistribution refuse an id it does not know, with the errors AWS gives
for a policy that does not exist (404 NoSuchCachePolicy /
NoSuchOriginRequestPolicy), and an origin request policy without a cache
policy ("You cannot use an origin request policy in a cache behavior
without a cache policy"), and a behavior with neither a cache policy nor
ForwardedValues (AWS: InvalidArgument "The parameter ForwardedValues is
required."). (moto writes a default ForwardedValues into every behavior it
reads back, cache policy or not; AWS refuses both together, but a refusal
here would break every read-modify-write of a distribution, so the edge
ignores ForwardedValues when a cache policy is set.)

Whatever the policies, CloudFront sets Host to the origin's domain unless
Host is forwarded, User-Agent to "Amazon CloudFront" unless User-Agent is
forwarded, appends the viewer's address to X-Forwarded-For, adds Via and
X-Amz-Cf-Id, and drops hop-by-hop headers. Accept-Encoding follows the cache
policy's compression settings ("Compression support" in
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-the-cache-key.html):
`br,gzip`, `gzip` or `br` for what the viewer accepts of the enabled
formats, `identity` when it accepts none of them, nothing when it sent no
Accept-Encoding. CloudFront headers a policy asks for (CloudFront-Viewer-*,
CloudFront-Is-*-Viewer, CloudFront-Forwarded-Proto) are not generated: the
emulator has no geography, devices or TLS; a viewer's own header of that name
is removed rather than passed off as CloudFront's.
"""

from corrections.common import list_of

# --- managed policies -------------------------------------------------------

_CLOUDFRONT_HEADERS_2022_06 = (
    "cloudfront-forwarded-proto",
    "cloudfront-is-android-viewer",
    "cloudfront-is-desktop-viewer",
    "cloudfront-is-ios-viewer",
    "cloudfront-is-mobile-viewer",
    "cloudfront-is-smarttv-viewer",
    "cloudfront-is-tablet-viewer",
    "cloudfront-viewer-address",
    "cloudfront-viewer-asn",
    "cloudfront-viewer-city",
    "cloudfront-viewer-country",
    "cloudfront-viewer-country-name",
    "cloudfront-viewer-country-region",
    "cloudfront-viewer-country-region-name",
    "cloudfront-viewer-http-version",
    "cloudfront-viewer-latitude",
    "cloudfront-viewer-longitude",
    "cloudfront-viewer-metro-code",
    "cloudfront-viewer-postal-code",
    "cloudfront-viewer-time-zone",
    "cloudfront-viewer-tls",
)


class Rule:
    """Which names of one kind (headers, cookies or query strings) go to the
    origin: none, whitelist (names), allExcept (names) or all."""

    def __init__(self, behavior="none", names=(), lower=False):
        self.behavior = behavior
        self.lower = lower
        self.names = {n.lower() if lower else n for n in names}

    def includes(self, name):
        name = name.lower() if self.lower else name
        if self.behavior == "all":
            return True
        if self.behavior == "whitelist":
            return name in self.names
        if self.behavior == "allExcept":
            return name not in self.names
        return False

    def __repr__(self):
        return f"Rule({self.behavior!r}, {sorted(self.names)!r})"


def combine(cache, origin):
    """The values a cache policy's rule and an origin request policy's rule
    forward together (the table in "Understand how origin request policies
    and cache policies work together")."""
    if cache.behavior == "allExcept" and origin.behavior == "allExcept":
        return Rule("allExcept", cache.names | origin.names, cache.lower)
    combined = Rule("none", (), cache.lower)
    combined.includes = lambda name: cache.includes(name) or origin.includes(name)
    return combined


class Forwarding:
    """What a behavior forwards: headers, cookies and query strings (Rules),
    the compression formats its cache policy enables, the CloudFront headers
    asked for, and whether it is the legacy ForwardedValues."""

    def __init__(self, headers, cookies, query, gzip=False, br=False, cloudfront=(), legacy=False):
        self.headers = headers
        self.cookies = cookies
        self.query = query
        self.gzip = gzip
        self.br = br
        self.cloudfront = set(cloudfront)
        self.legacy = legacy


def _cache(headers=(), cookies=("none", ()), query=("none", ()), gzip=False, br=False):
    return {
        "headers": Rule("whitelist" if headers else "none", headers, lower=True),
        "cookies": Rule(cookies[0], cookies[1]),
        "query": Rule(query[0], query[1]),
        "gzip": gzip,
        "br": br,
    }


CACHE_POLICIES = {
    # Amplify
    "2e54312d-136d-493c-8eb9-b001f22f67d2": _cache(
        ("authorization", "cloudfront-viewer-country", "host"), ("all", ()), ("all", ()), True, True
    ),
    # CachingDisabled
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": _cache(),
    # CachingOptimized
    "658327ea-f89d-4fab-a63d-7e88639e58f6": _cache(gzip=True, br=True),
    # CachingOptimizedForUncompressedObjects
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": _cache(),
    # Elemental-MediaPackage ("Enabled for Gzip")
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": _cache(
        ("origin",), query=("whitelist", ("aws.manifestfilter", "start", "end", "m")), gzip=True
    ),
}


def _origin(headers=("none", ()), cookies=("none", ()), query=("none", ()), cloudfront=()):
    return {
        "headers": Rule(headers[0], headers[1], lower=True),
        "cookies": Rule(cookies[0], cookies[1]),
        "query": Rule(query[0], query[1]),
        "cloudfront": cloudfront,
    }


ORIGIN_REQUEST_POLICIES = {
    # AllViewer
    "216adef6-5c7f-47e4-b989-5492eafa07d3": _origin(("all", ()), ("all", ()), ("all", ())),
    # AllViewerAndCloudFrontHeaders-2022-06
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": _origin(
        ("all", ()), ("all", ()), ("all", ()), _CLOUDFRONT_HEADERS_2022_06
    ),
    # AllViewerExceptHostHeader
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": _origin(("allExcept", ("host",)), ("all", ()), ("all", ())),
    # CORS-CustomOrigin
    "59781a5b-3903-41f3-afcb-af62929ccde1": _origin(("whitelist", ("origin",))),
    # CORS-S3Origin
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": _origin(
        ("whitelist", ("origin", "access-control-request-headers", "access-control-request-method"))
    ),
    # Elemental-MediaTailor-PersonalizedManifests
    "775133bc-15f2-49f9-abea-afb2e0bf67d2": _origin(
        (
            "whitelist",
            (
                "origin",
                "access-control-request-headers",
                "access-control-request-method",
                "user-agent",
                "x-forwarded-for",
            ),
        ),
        query=("all", ()),
    ),
    # UserAgentRefererHeaders
    "acba4595-bd28-49b8-b9fe-13317c0390fa": _origin(("whitelist", ("user-agent", "referer"))),
}


class UnknownPolicy(Exception):
    """A behavior names a policy the emulator does not have."""


# --- a behavior's forwarding -----------------------------------------------------


def _truthy(value):
    return value is True or str(value).lower() == "true"


def _legacy(forwarded):
    values = getattr(forwarded, "__dict__", None) or (forwarded if isinstance(forwarded, dict) else {})
    query = Rule("all" if _truthy(values.get("QueryString")) else "none")
    cookies = values.get("Cookies") or {}
    forward = str(cookies.get("Forward") or "none")
    whitelisted = cookies.get("WhitelistedNames") or {}
    names = list_of(whitelisted.get("Items") if isinstance(whitelisted, dict) else None, "Name")
    cookie_rule = Rule(forward if forward in ("all", "whitelist") else "none", [str(n) for n in names])
    headers = values.get("Headers") or {}
    header_names = [
        str(n) for n in list_of(headers.get("Items") if isinstance(headers, dict) else None, "Name")
    ]
    if "*" in header_names:
        header_rule = Rule("all", lower=True)
    else:
        header_rule = Rule("whitelist", header_names, lower=True)
    cloudfront = [n.lower() for n in header_names if n.lower().startswith("cloudfront-")]
    return Forwarding(header_rule, cookie_rule, query, True, True, cloudfront, legacy=True)


def forwarding(behavior):
    """The Forwarding of a cache behavior (a moto object). Raises
    UnknownPolicy for a policy id the emulator does not know."""
    cache_id = getattr(behavior, "cache_policy_id", "") or ""
    origin_id = getattr(behavior, "origin_request_policy_id", "") or ""
    if not cache_id:
        if origin_id:
            raise UnknownPolicy("an origin request policy without a cache policy")
        return _legacy(getattr(behavior, "forwarded_values", None))
    cache = CACHE_POLICIES.get(cache_id)
    if cache is None:
        raise UnknownPolicy(f"cache policy {cache_id}")
    origin = ORIGIN_REQUEST_POLICIES.get(origin_id) if origin_id else _origin()
    if origin is None:
        raise UnknownPolicy(f"origin request policy {origin_id}")
    cloudfront = [n for n in cache["headers"].names if n.startswith("cloudfront-")]
    return Forwarding(
        combine(cache["headers"], origin["headers"]),
        combine(cache["cookies"], origin["cookies"]),
        combine(cache["query"], origin["query"]),
        cache["gzip"],
        cache["br"],
        list(origin["cloudfront"]) + cloudfront,
    )


# Never forwarded as the viewer sent them: hop-by-hop and framing headers,
# those CloudFront removes whatever the policy (RequestAndResponseBehaviorCustomOrigin),
# and those it writes itself.
_NEVER = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "x-forwarded-proto",
    "x-real-ip",
    "x-amz-cf-id",
    "content-length",
    "cookie",
    "host",
    "user-agent",
    "accept-encoding",
    "x-forwarded-for",
    "via",
}
# Removed by the legacy ForwardedValues unless named (the same table).
_LEGACY_REMOVED = {
    "accept",
    "accept-charset",
    "accept-language",
    "referer",
    "x-http-method-override",
    "authorization",  # for GET and HEAD; other methods keep it
}


def _accept_encoding(forward, viewer_values):
    """The Accept-Encoding CloudFront sends, or None."""
    if not viewer_values:
        return None
    if not (forward.gzip or forward.br):
        return None
    offered = set()
    for value in viewer_values:
        for item in value.split(","):
            coding = item.split(";", 1)[0].strip().lower()
            if coding:
                offered.add(coding)
    chosen = [c for c, on in (("br", forward.br), ("gzip", forward.gzip)) if on and c in offered]
    return ",".join(chosen) if chosen else "identity"


def origin_headers(forward, request, host):
    """The headers CloudFront sends the origin, before Via, X-Amz-Cf-Id and
    Content-Length: [(lower-case name, value)]."""
    out = []
    for name, value in request.headers:
        name = name.lower()
        if name in _NEVER or name.startswith("x-edge-"):
            continue
        if name.startswith("cloudfront-") and name in forward.cloudfront:
            continue  # CloudFront's to write; the emulator cannot
        if forward.legacy:
            named = forward.headers.includes(name)
            removed = name in _LEGACY_REMOVED and not (
                name == "authorization" and request.method not in ("GET", "HEAD")
            )
            if not named and removed:
                continue
        elif not forward.headers.includes(name):
            continue
        out.append((name, value))
    viewer_host = [v for k, v in request.headers if k.lower() == "host"]
    out.insert(0, ("host", viewer_host[0] if forward.headers.includes("host") and viewer_host else host))
    agents = [v for k, v in request.headers if k.lower() == "user-agent"]
    if forward.headers.includes("user-agent"):
        out.extend(("user-agent", v) for v in agents)
    else:
        out.append(("user-agent", "Amazon CloudFront"))
    encodings = [v for k, v in request.headers if k.lower() == "accept-encoding"]
    if forward.gzip or forward.br:
        coding = _accept_encoding(forward, encodings)
        if coding:
            out.append(("accept-encoding", coding))
    elif forward.headers.includes("accept-encoding"):
        out.extend(("accept-encoding", v) for v in encodings)
    forwarded_for = [v for k, v in request.headers if k.lower() == "x-forwarded-for"]
    out.append(("x-forwarded-for", ", ".join(forwarded_for + [request.ip])))
    return out


def origin_cookies(forward, cookies):
    return [(k, v) for k, v in cookies if forward.cookies.includes(k)]


def origin_query(forward, pairs):
    return [(k, v) for k, v in pairs if forward.query.includes(k)]


# --- the control plane --------------------------------------------------------------


def check_distribution(config, error):
    """Refuses a DistributionConfig (the raw dict CreateDistribution or
    UpdateDistribution received) whose behaviors name a policy the emulator
    does not have, as AWS refuses a policy that does not exist. `error(code,
    message)` makes the exception."""
    config = config or {}
    behaviors = []
    if isinstance(config.get("DefaultCacheBehavior"), dict):
        behaviors.append(config["DefaultCacheBehavior"])
    cache_behaviors = config.get("CacheBehaviors") or {}
    items = cache_behaviors.get("Items") if isinstance(cache_behaviors, dict) else None
    behaviors.extend(b for b in list_of(items, "CacheBehavior") if isinstance(b, dict))
    for behavior in behaviors:
        cache_id = behavior.get("CachePolicyId") or ""
        origin_id = behavior.get("OriginRequestPolicyId") or ""
        if cache_id and cache_id not in CACHE_POLICIES:
            raise error("NoSuchCachePolicy", f"The cache policy does not exist: {cache_id}.")
        if origin_id and origin_id not in ORIGIN_REQUEST_POLICIES:
            raise error(
                "NoSuchOriginRequestPolicy", f"The origin request policy does not exist: {origin_id}."
            )
        if not cache_id and (origin_id or not behavior.get("ForwardedValues")):
            raise error("InvalidArgument", "The parameter ForwardedValues is required.")
