using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Observability.AspNetCore.Core;
using StackExchange.Redis;

namespace Observability.AspNetCore.Health;

/// <summary>
/// Validates <c>Observability:Health</c> at startup. Messages name the full key and the bad value, except connection
/// strings, which are never echoed: they carry passwords, and startup errors end up in logs and CI output.
/// </summary>
internal sealed class HealthOptionsValidator(IConfiguration configuration, IOptions<HostOptions> hostOptions) : IValidateOptions<ObservabilityOptions>
{
    private const string Section = "Observability:Health";
    private const int MaxTimeoutMs = 300_000;
    private const int MaxCacheMs = 3_600_000;
    private const int MinPublishIntervalMs = 100;

    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        var health = options.Health;
        if (!health.Enabled)
        {
            return failures.Build();
        }

        ValidatePath(health, options.Metrics, failures);
        ValidateRange($"{Section}:TimeoutMs", health.TimeoutMs, 1, MaxTimeoutMs, failures);
        ValidateRange($"{Section}:CacheMs", health.CacheMs, 0, MaxCacheMs, failures);
        if (health.PublishIntervalMs is < 0 or (> 0 and < MinPublishIntervalMs))
        {
            failures.AddError(Invariant($"{Section}:PublishIntervalMs must be 0 (off) or at least {MinPublishIntervalMs}; was {health.PublishIntervalMs}."));
        }

        ValidateShutdownDelay(health.ShutdownDelayMs, hostOptions.Value.ShutdownTimeout, failures);
        ValidateDetailed(health.Detailed, failures);
        ValidateDependency($"{Section}:Postgres", health.Postgres, "PostgreSQL", ';', static cs => _ = new NpgsqlConnectionStringBuilder(cs), failures);
        ValidateDependency($"{Section}:Redis", health.Redis, "StackExchange.Redis", ',', static cs => ConfigurationOptions.Parse(cs), failures);
        return failures.Build();
    }

    private static void ValidatePath(HealthOptions health, MetricsOptions metrics, ValidateOptionsResultBuilder failures)
    {
        var path = health.Path;
        if (!LiteralPath.IsValid(path))
        {
            failures.AddError($"{Section}:Path {LiteralPath.Rule}; was '{path}'.");
            return;
        }

        if (metrics.Enabled && metrics.Path is { } metricsPath)
        {
            var basePath = HealthRegistration.BasePath(path);
            string[] healthPaths = [basePath.Length == 0 ? "/" : basePath, basePath + "/live", basePath + "/ready", basePath + "/detailed"];
            if (healthPaths.Contains(metricsPath.TrimEnd('/') is { Length: > 0 } m ? m : "/", StringComparer.OrdinalIgnoreCase))
            {
                failures.AddError($"{Section}:Path '{path}' maps '{metricsPath}', which is already Observability:Metrics:Path.");
            }
        }
    }

    private static void ValidateShutdownDelay(int delayMs, TimeSpan shutdownTimeout, ValidateOptionsResultBuilder failures)
    {
        if (delayMs < 0)
        {
            failures.AddError(Invariant($"{Section}:ShutdownDelayMs must be >= 0 (0 stops at once); was {delayMs}."));
        }
        else if (shutdownTimeout != Timeout.InfiniteTimeSpan && delayMs >= shutdownTimeout.TotalMilliseconds)
        {
            // The delay runs inside the host's shutdown timeout; at or above it, the host would cut the drain short and
            // then have no time left to finish the requests in flight.
            failures.AddError(Invariant(
                $"{Section}:ShutdownDelayMs must be less than the host's shutdown timeout (HostOptions.ShutdownTimeout, {shutdownTimeout.TotalMilliseconds} ms; raise it with the shutdownTimeoutSeconds setting, e.g. the environment variable shutdownTimeoutSeconds=20, or builder.Services.Configure<HostOptions>(...)); was {delayMs}."));
        }
    }

    private static void ValidateDetailed(HealthDetailedOptions detailed, ValidateOptionsResultBuilder failures)
    {
        if (!Enum.IsDefined(detailed.Access))
        {
            failures.AddError($"{Section}:Detailed:Access must be one of Localhost, Anonymous, Policy; was '{detailed.Access}'.");
            return;
        }

        if (detailed.Access != HealthDetailedAccess.Policy)
        {
            if (!string.IsNullOrEmpty(detailed.Policy))
            {
                failures.AddError($"{Section}:Detailed:Policy is '{detailed.Policy}', but {Section}:Detailed:Access is '{detailed.Access}'; set Access to Policy to apply the policy, or remove it.");
            }

            return;
        }

        if (string.IsNullOrWhiteSpace(detailed.Policy))
        {
            failures.AddError($"{Section}:Detailed:Policy must name an authorization policy when {Section}:Detailed:Access is Policy; was '{detailed.Policy}'.");
        }

        // Whether the policy exists is checked when the endpoints are mapped (HealthRegistration.EnsurePolicy): resolving
        // authorization services here would build loggers, whose pipeline needs the very options being validated.
    }

    /// <summary>Called by <c>UseObservability()</c>: the named policy must exist, or the first call would be a 500.</summary>
    internal static void EnsurePolicy(HealthDetailedOptions detailed, IServiceProvider services)
    {
        if (detailed.Access != HealthDetailedAccess.Policy)
        {
            return;
        }

        var provider = services.GetService<IAuthorizationPolicyProvider>();
        if (provider is null || services.GetService<Microsoft.AspNetCore.Authorization.Policy.IPolicyEvaluator>() is null)
        {
            throw new InvalidOperationException(
                $"{Section}:Detailed:Access is Policy, but no authorization services are registered; call builder.Services.AddAuthorization(...) to define the policy '{detailed.Policy}'.");
        }

        // The default provider answers synchronously.
        if (provider.GetPolicyAsync(detailed.Policy!).GetAwaiter().GetResult() is null)
        {
            throw new InvalidOperationException(
                $"{Section}:Detailed:Policy names the authorization policy '{detailed.Policy}', which is not registered (AddAuthorization(o => o.AddPolicy(\"{detailed.Policy}\", ...))).");
        }
    }

    private void ValidateDependency(string key, HealthDependencyOptions dependency, string kind, char separator, Action<string> parse, ValidateOptionsResultBuilder failures)
    {
        if (dependency.TimeoutMs is { } timeoutMs)
        {
            ValidateRange($"{key}:TimeoutMs", timeoutMs, 1, MaxTimeoutMs, failures);
        }

        var hasName = !string.IsNullOrWhiteSpace(dependency.ConnectionStringName);
        var hasValue = !string.IsNullOrWhiteSpace(dependency.ConnectionString);
        if (hasName && hasValue)
        {
            failures.AddError($"{key}:ConnectionStringName ('{dependency.ConnectionStringName}') and {key}:ConnectionString are both set; set one.");
            return;
        }

        string source;
        string? connectionString;
        if (hasName)
        {
            source = $"ConnectionStrings:{dependency.ConnectionStringName} (named by {key}:ConnectionStringName)";
            connectionString = configuration.GetConnectionString(dependency.ConnectionStringName!);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                failures.AddError($"{key}:ConnectionStringName is '{dependency.ConnectionStringName}', but ConnectionStrings:{dependency.ConnectionStringName} is not set.");
                return;
            }
        }
        else if (hasValue)
        {
            source = $"{key}:ConnectionString";
            connectionString = dependency.ConnectionString;
        }
        else
        {
            return;
        }

        try
        {
            parse(connectionString!);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            failures.AddError($"{source} is not a valid {kind} connection string (value not shown: it may hold a password): {HideAfterPassword(HealthMessageRedactor.Redact(ex.Message) ?? "", connectionString!, separator)}");
        }
    }

    /// <summary>
    /// The driver names the keyword it could not read. After a password that keyword may be the password's own tail,
    /// split at a separator it holds, so every word of the segments after it is hidden.
    /// </summary>
    private static string HideAfterPassword(string message, string connectionString, char separator)
    {
        var segments = connectionString.Split(separator);
        var hidden = false;
        var afterPassword = false;
        foreach (var segment in segments)
        {
            if (afterPassword)
            {
                foreach (var word in segment.Split('=', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    // One or two characters of a secret say little, and hiding them would garble the message.
                    if (word.Length > 2 && message.Contains(word, StringComparison.OrdinalIgnoreCase))
                    {
                        message = message.Replace(word, "[not shown]", StringComparison.OrdinalIgnoreCase);
                        hidden = true;
                    }
                }
            }

            var name = segment.Split('=', 2)[0].Trim();
            // Npgsql takes Password, PSW and PWD (and SSL Password); Redis takes password.
            afterPassword |= name.Contains("password", StringComparison.OrdinalIgnoreCase)
                || name.Equals("pwd", StringComparison.OrdinalIgnoreCase) || name.Equals("psw", StringComparison.OrdinalIgnoreCase);
        }

        return hidden
            ? message + $" (what follows the password is not shown: it may be the password's own tail, split at a '{separator}' it holds)"
            : message;
    }

    private static void ValidateRange(string key, int value, int min, int max, ValidateOptionsResultBuilder failures)
    {
        if (value < min || value > max)
        {
            failures.AddError(Invariant($"{key} must be between {min} and {max}; was {value}."));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
