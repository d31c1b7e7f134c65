namespace Observability.AspNetCore;

/// <summary>
/// Health endpoints settings, bound from <c>Observability:Health</c>. <c>UseObservability()</c> maps
/// <c>{Path}</c>, <c>{Path}/live</c>, <c>{Path}/ready</c> and <c>{Path}/detailed</c> over the app's
/// <c>Microsoft.Extensions.Diagnostics.HealthChecks</c> registrations.
/// </summary>
public sealed class HealthOptions
{
    /// <summary>The tag that puts a health check into <c>{Path}/live</c>: <c>live</c>.</summary>
    public const string LiveTag = "live";

    /// <summary>The tag that puts a health check into <c>{Path}/ready</c>: <c>ready</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Whether the health endpoints, checks and metrics are on (<c>Observability:Health:Enabled</c>, default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The base path of the health endpoints (<c>Observability:Health:Path</c>, default <c>/health</c>).</summary>
    public string Path { get; set; } = "/health";

    /// <summary>
    /// How long one run of a check may take before it counts as <c>Unhealthy</c> with the error <c>timed out</c>
    /// (<c>Observability:Health:TimeoutMs</c>, default 2000). A check registered with its own <c>timeout:</c>, and the
    /// <c>Postgres:TimeoutMs</c> / <c>Redis:TimeoutMs</c> keys, override it for that check.
    /// </summary>
    public int TimeoutMs { get; set; } = 2000;

    /// <summary>
    /// How long a check's result is reused (<c>Observability:Health:CacheMs</c>, default 1000), so a flood of probes
    /// reaches each dependency at most once per window; concurrent callers always share one run. 0 turns the cache off.
    /// </summary>
    public int CacheMs { get; set; } = 1000;

    /// <summary>
    /// How long, after shutdown begins (SIGTERM), the app keeps serving requests with <c>{Path}/ready</c> answering 503
    /// before the server stops accepting new ones (<c>Observability:Health:ShutdownDelayMs</c>, default 0), so load
    /// balancers stop sending traffic first. About 5000 is right behind Kubernetes. Must be less than
    /// <c>HostOptions.ShutdownTimeout</c>.
    /// </summary>
    public int ShutdownDelayMs { get; set; }

    /// <summary>
    /// How often a background publisher runs every check and updates the <c>health_check_status</c> and
    /// <c>health_check_duration_seconds</c> gauges (<c>Observability:Health:PublishIntervalMs</c>, default 15000), so
    /// Prometheus sees a failing dependency without anyone calling the endpoints. 0 turns the publisher off.
    /// </summary>
    public int PublishIntervalMs { get; set; } = 15000;

    /// <summary>Access to <c>{Path}/detailed</c> (<c>Observability:Health:Detailed</c>).</summary>
    public HealthDetailedOptions Detailed { get; } = new();

    /// <summary>The PostgreSQL check, named <c>postgres</c> and tagged <c>ready</c> (<c>Observability:Health:Postgres</c>).</summary>
    public HealthDependencyOptions Postgres { get; } = new();

    /// <summary>The Redis check, named <c>redis</c> and tagged <c>ready</c> (<c>Observability:Health:Redis</c>).</summary>
    public HealthDependencyOptions Redis { get; } = new();
}

/// <summary>Who may read <c>{Path}/detailed</c>.</summary>
public enum HealthDetailedAccess
{
    /// <summary>
    /// Only callers connecting from a loopback address and carrying no <c>X-Forwarded-For</c>, <c>Forwarded</c>,
    /// <c>X-Real-IP</c> or <c>X-Original-For</c> header (a reverse proxy on the same host also connects from loopback);
    /// others get 404. The default.
    /// </summary>
    Localhost = 0,

    /// <summary>Anyone. Only behind a network boundary you trust.</summary>
    Anonymous = 1,

    /// <summary>Callers the ASP.NET Core authorization policy named by <see cref="HealthDetailedOptions.Policy"/> admits (401/403 otherwise).</summary>
    Policy = 2,
}

/// <summary>Access to <c>{Path}/detailed</c>, bound from <c>Observability:Health:Detailed</c>.</summary>
public sealed class HealthDetailedOptions
{
    /// <summary>Who may read the endpoint (<c>Observability:Health:Detailed:Access</c>: <c>Localhost</c>, <c>Anonymous</c> or <c>Policy</c>; default <c>Localhost</c>).</summary>
    public HealthDetailedAccess Access { get; set; } = HealthDetailedAccess.Localhost;

    /// <summary>The authorization policy applied when <see cref="Access"/> is <c>Policy</c> (<c>Observability:Health:Detailed:Policy</c>, default none).</summary>
    public string? Policy { get; set; }
}

/// <summary>
/// A dependency check (<c>Observability:Health:Postgres</c> or <c>Observability:Health:Redis</c>). The check is registered
/// when <see cref="ConnectionStringName"/> or <see cref="ConnectionString"/> is set; it reuses the app's
/// <c>NpgsqlDataSource</c> / <c>IConnectionMultiplexer</c> when the app registers one.
/// </summary>
public sealed class HealthDependencyOptions
{
    /// <summary>The name of the connection string in <c>ConnectionStrings</c> (<c>...:ConnectionStringName</c>, default none).</summary>
    public string? ConnectionStringName { get; set; }

    /// <summary>The connection string itself, when it is not in <c>ConnectionStrings</c> (<c>...:ConnectionString</c>, default none).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>This check's timeout in milliseconds (<c>...:TimeoutMs</c>); null (the default) means <see cref="HealthOptions.TimeoutMs"/>.</summary>
    public int? TimeoutMs { get; set; }

    internal bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionStringName) || !string.IsNullOrWhiteSpace(ConnectionString);
}
