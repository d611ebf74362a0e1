extension CurlHTTPClient {
    /// How a `CurlHTTPClient` talks to the upstream. Fixed for the client's lifetime: make a
    /// new client to change it (for example on SIGHUP).
    public struct Configuration: Sendable, Hashable {
        /// The `User-Agent` header, e.g. `millimetric-relay/1.0.0`.
        public var userAgent: String
        /// How long to wait for TCP and TLS to be established (`CURLOPT_CONNECTTIMEOUT_MS`).
        public var connectTimeout: Duration
        /// How long a whole request may take, connect included (`CURLOPT_TIMEOUT_MS`); it must
        /// leave room to upload a full 256 KB batch on a slow link. Shutdown does not wait for it:
        /// it uses `CurlHTTPClient.abortHandle`.
        public var totalTimeout: Duration
        /// A PEM bundle of CA certificates to trust instead of the system's
        /// (`CURLOPT_CAINFO`); nil uses libcurl's default bundle.
        public var caFile: String?
        /// The proxy to use (`CURLOPT_PROXY`, e.g. `http://proxy:3128`). nil leaves libcurl's
        /// default, which honours `https_proxy`/`HTTPS_PROXY`, `http_proxy` and `no_proxy` from
        /// the environment; the empty string disables proxies, environment included.
        public var proxy: String?
        /// How much of a response body to keep; the rest is read and dropped.
        public var maxResponseBodyBytes: Int

        /// Creates a configuration. The defaults suit the Millimetric API. Written out: the
        /// relay's module calls it, and a public struct gets no public memberwise init.
        public init(
            userAgent: String = "millimetric-relay",
            connectTimeout: Duration = .seconds(10),
            totalTimeout: Duration = .seconds(30),
            caFile: String? = nil,
            proxy: String? = nil,
            maxResponseBodyBytes: Int = 64 * 1024
        ) {
            self.userAgent = userAgent
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.caFile = caFile
            self.proxy = proxy
            self.maxResponseBodyBytes = maxResponseBodyBytes
        }
    }
}
