using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Health;

/// <summary>
/// The four endpoints. JSON is written with <see cref="Utf8JsonWriter"/>: the shape is fixed here (camelCase members,
/// check names as written by the app), nothing is serialized by reflection, and nothing but the fields below can
/// reach a response: no exception object, no check data, no configuration.
/// </summary>
internal sealed class HealthEndpoints
{
    public const string ContentType = "application/json; charset=utf-8";

    private static readonly string[] ForwardingHeaders = ["X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Original-For"];

    private readonly HealthCheckRunner _runner;
    private readonly HealthLifecycle _lifecycle;
    private readonly SystemSampler _system;
    private readonly TimeProvider _time;
    private readonly HealthDetailedOptions _detailed;
    private readonly string _service;
    private readonly string _version;
    private readonly WorkerRegistry? _workers;

    public HealthEndpoints(IServiceProvider services)
    {
        _workers = services.GetService<WorkerRegistry>();
        var identity = services.GetRequiredService<ServiceIdentity>();
        _runner = services.GetRequiredService<HealthCheckRunner>();
        _lifecycle = services.GetRequiredService<HealthLifecycle>();
        _system = services.GetRequiredService<SystemSampler>();
        _time = services.GetRequiredService<TimeProvider>();
        _detailed = services.GetRequiredService<IOptions<ObservabilityOptions>>().Value.Health.Detailed;
        _service = identity.Name;
        _version = identity.Version;
    }

    /// <summary><c>GET /health</c>: the process answers. Runs no check, so it costs a probe nothing.</summary>
    public Task BasicAsync(HttpContext context)
    {
        var writer = Start(context, StatusCodes.Status200OK);
        writer.WriteStartObject();
        writer.WriteString("status", nameof(HealthStatus.Healthy));
        writer.WriteString("service", _service);
        writer.WriteString("version", _version);
        writer.WriteString("timestamp", Timestamp());
        writer.WriteEndObject();
        return FinishAsync(context, writer);
    }

    /// <summary><c>GET /health/live</c>: only checks tagged <c>live</c>; stays 200 while the app drains.</summary>
    public async Task LiveAsync(HttpContext context)
    {
        var checks = await _runner.RunAsync(HealthOptions.LiveTag, context.RequestAborted);
        await WriteSummaryAsync(context, checks, reason: null);
    }

    /// <summary><c>GET /health/ready</c>: 503 while starting or stopping; else checks tagged <c>ready</c>, without error text.</summary>
    public async Task ReadyAsync(HttpContext context)
    {
        if (_lifecycle.NotReadyReason is { } reason)
        {
            await WriteSummaryAsync(context, [], reason);
            return;
        }

        var checks = await _runner.RunAsync(HealthOptions.ReadyTag, context.RequestAborted);
        await WriteSummaryAsync(context, checks, reason: null);
    }

    /// <summary><c>GET /health/detailed</c>: every check with its reason, uptime and process figures; access-controlled.</summary>
    public async Task DetailedAsync(HttpContext context)
    {
        switch (_detailed.Access)
        {
            case HealthDetailedAccess.Anonymous:
                await WriteDetailedAsync(context);
                break;
            case HealthDetailedAccess.Policy:
                await AuthorizeThenAsync(context, _detailed.Policy!);
                break;
            default:
                if (IsLocalCaller(context))
                {
                    await WriteDetailedAsync(context);
                }
                else
                {
                    // 404, not 403: a remote caller learns nothing about what is served here (as for /metrics).
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                }

                break;
        }
    }

    /// <summary>
    /// A loopback caller that no proxy speaks for. A reverse proxy on the same host connects from loopback too, so any
    /// forwarding header (even one <c>UseForwardedHeaders</c> consumed, leaving <c>X-Original-For</c>) means "not local".
    /// </summary>
    internal static bool IsLocalCaller(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || !System.Net.IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            return false;
        }

        foreach (var header in ForwardingHeaders)
        {
            if (context.Request.Headers.ContainsKey(header))
            {
                return false;
            }
        }

        return true;
    }

    private async Task AuthorizeThenAsync(HttpContext context, string policyName)
    {
        // Evaluated here rather than with RequireAuthorization(): it then works wherever the app puts (or omits)
        // UseAuthorization(), and answers exactly as the authorization middleware would (challenge 401, forbid 403).
        var services = context.RequestServices;
        var policy = await services.GetRequiredService<IAuthorizationPolicyProvider>().GetPolicyAsync(policyName)
            ?? throw new InvalidOperationException($"The authorization policy '{policyName}' named by Observability:Health:Detailed:Policy is not registered.");
        var evaluator = services.GetRequiredService<IPolicyEvaluator>();
        var authentication = await evaluator.AuthenticateAsync(policy, context);
        var authorization = await evaluator.AuthorizeAsync(policy, authentication, context, resource: context);
        var handler = services.GetService<IAuthorizationMiddlewareResultHandler>() ?? new AuthorizationMiddlewareResultHandler();
        await handler.HandleAsync(WriteDetailedAsync, context, policy, authorization);
    }

    private async Task WriteDetailedAsync(HttpContext context)
    {
        var checks = await _runner.RunAsync(tag: null, context.RequestAborted);
        var status = HealthCheckSnapshot.Worst(checks);
        var system = _system.Current();
        var writer = Start(context, StatusFor(status));
        writer.WriteStartObject();
        writer.WriteString("status", status.ToString());
        writer.WriteString("service", _service);
        writer.WriteString("version", _version);
        writer.WriteString("timestamp", Timestamp());
        writer.WriteNumber("uptimeSeconds", Math.Round(_lifecycle.Uptime.TotalSeconds, 1));
        writer.WriteStartObject("checks");
        foreach (var check in checks)
        {
            writer.WriteStartObject(check.Name);
            writer.WriteString("status", check.Status.ToString());
            WriteStringOrNull(writer, "description", check.Description);
            writer.WriteNumber("durationMs", check.DurationMs);
            WriteStringOrNull(writer, "error", check.Error);
            writer.WriteStartArray("tags");
            foreach (var tag in check.Tags)
            {
                writer.WriteStringValue(tag);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteStartObject("system");
        writer.WriteNumber("cpuPercent", system.CpuPercent);
        writer.WriteNumber("processMemoryMb", system.ProcessMemoryMb);
        writer.WriteNumber("gcHeapMb", system.GcHeapMb);
        if (system.MemoryLimitMb is { } limit)
        {
            writer.WriteNumber("memoryLimitMb", limit);
        }
        else
        {
            writer.WriteNull("memoryLimitMb");
        }

        writer.WriteNumber("threadCount", system.ThreadCount);
        writer.WriteNumber("threadPoolQueueLength", system.ThreadPoolQueueLength);
        writer.WriteEndObject();
        WriteWorkers(writer);
        writer.WriteEndObject();
        await FinishAsync(context, writer);
    }

    /// <summary>Each registered worker and each hosted service that faulted: its state and run counts.</summary>
    private void WriteWorkers(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("workers");
        foreach (var worker in _workers?.Snapshot() ?? [])
        {
            var problem = worker.Problem();
            writer.WriteStartObject(worker.Name);
            writer.WriteString("status", problem is null ? nameof(HealthStatus.Healthy) : nameof(HealthStatus.Unhealthy));
            WriteStringOrNull(writer, "reason", problem is null ? null : HealthMessageRedactor.Redact(problem));
            if (worker.LastBeat is { } beat)
            {
                writer.WriteString("lastBeat", beat);
            }
            else
            {
                writer.WriteNull("lastBeat");
            }

            writer.WriteNumber("inProgress", worker.InProgress);
            writer.WriteNumber("succeeded", worker.Succeeded);
            writer.WriteNumber("failed", worker.Failed);
            if (worker.LastFailure is { } failure)
            {
                writer.WriteStartObject("lastFailure");
                writer.WriteString("type", failure.Type);
                writer.WriteString("at", failure.At);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteNull("lastFailure");
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>Status and per-check status and duration only: this is what anonymous probes see, so no error text.</summary>
    private static Task WriteSummaryAsync(HttpContext context, IReadOnlyList<HealthCheckSnapshot> checks, string? reason)
    {
        var status = reason is null ? HealthCheckSnapshot.Worst(checks) : HealthStatus.Unhealthy;
        var writer = Start(context, StatusFor(status));
        writer.WriteStartObject();
        writer.WriteString("status", status.ToString());
        if (reason is not null)
        {
            writer.WriteString("reason", reason);
        }

        writer.WriteStartObject("checks");
        foreach (var check in checks)
        {
            writer.WriteStartObject(check.Name);
            writer.WriteString("status", check.Status.ToString());
            writer.WriteNumber("durationMs", check.DurationMs);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        return FinishAsync(context, writer);
    }

    private static int StatusFor(HealthStatus status) =>
        status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;

    private static Utf8JsonWriter Start(HttpContext context, int statusCode)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = ContentType;

        // A cached health answer is a wrong answer: no proxy or client may reuse it.
        response.Headers.CacheControl = "no-store";
        return new Utf8JsonWriter(response.BodyWriter);
    }

    private static async Task FinishAsync(HttpContext context, Utf8JsonWriter writer)
    {
        await using (writer)
        {
            await writer.FlushAsync(context.RequestAborted);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void WriteStringOrNull(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private string Timestamp() =>
        _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
