using System.Diagnostics;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Writes the one completion event per request. Built straight on Serilog, not through <c>[LoggerMessage]</c>: the
/// template is parsed once, the constant properties are created once, and optional properties (<c>Route</c>,
/// <c>ClientIp</c>, <c>UserId</c>) are left out rather than written as nulls; the level is checked before anything is
/// built, so a filtered event (e.g. a health probe at Debug) costs nothing but the check.
/// <para>
/// When nothing but the library's stdout sink would see the event (JSON format, no extra sink, a <c>Serilog</c>
/// section that sets levels only), the line is encoded straight to UTF-8 (<see cref="CompletionLineEncoder"/>): the
/// same CLEF object, without a <see cref="LogEvent"/>, its property dictionary, the enrichers and the text formatter,
/// which together were most of a logged request's cost. Levels and overrides are honoured on both paths (the level
/// check is Serilog's); an event with an exception always goes through Serilog, for its <c>@x</c>.
/// </para>
/// </summary>
internal sealed class RequestCompletionLogger
{
    public const int EventIdValue = EventIds.RequestCompleted;
    public const string EventName = nameof(EventIds.RequestCompleted);
    public const string SourceContextName = "Observability.AspNetCore.RequestLogging";

    public const string TemplateText = "{RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed} ms";

    /// <summary>
    /// A request the client abandoned: no response reached it, so the message does not say "responded"; the event still
    /// carries the <c>StatusCode</c> ASP.NET Core reports (the one the metrics count) and <c>Aborted: true</c>.
    /// </summary>
    public const string AbortedTemplateText = "{RequestMethod} {RequestPath} aborted by the client after {Elapsed} ms";

    public static readonly MessageTemplate Template = new MessageTemplateParser().Parse(TemplateText);

    public static readonly MessageTemplate AbortedTemplate = new MessageTemplateParser().Parse(AbortedTemplateText);

    private static readonly LogEventProperty EventIdProperty = new(
        CompletionFields.EventId.Name,
        new StructureValue([new LogEventProperty("Id", new ScalarValue(EventIdValue)), new LogEventProperty("Name", new ScalarValue(EventName))]));

    private static readonly LogEventProperty AbortedProperty = new(CompletionFields.Aborted.Name, new ScalarValue(true));

    private readonly Serilog.ILogger _logger;
    private readonly CompletionLineEncoder? _direct;
    private readonly Serilog.ILogger? _exports;
    private readonly bool _includeClientIp;
    private readonly bool _includeUserId;
    private readonly bool _authenticationRegistered;

    public RequestCompletionLogger(SerilogPipeline pipeline, IOptions<ObservabilityOptions> options, ServiceIdentity identity, IServiceProvider services)
    {
        _logger = pipeline.Logger.ForContext(Constants.SourceContextPropertyName, SourceContextName);
        var logging = options.Value.Logging;
        _includeClientIp = logging.IncludeClientIp;
        _includeUserId = logging.IncludeUserId;

        // A container that cannot tell is taken to have authentication: the user is then looked up on every request.
        _authenticationRegistered = services.GetService<IServiceProviderIsService>()?.IsService(typeof(IAuthenticationSchemeProvider)) ?? true;
        OwnEndpointsLevel = ToSerilog(logging.OwnEndpointsLevel);
        _direct = pipeline.DirectLines is { } sink ? new CompletionLineEncoder(sink, identity) : null;
        _exports = _direct is null ? null : pipeline.Exports?.ForContext(Constants.SourceContextPropertyName, SourceContextName);
    }

    /// <summary>Null when own-endpoint events are turned off (<c>None</c>).</summary>
    public LogEventLevel? OwnEndpointsLevel { get; }

    /// <summary>True when completion lines skip Serilog's event pipeline (see the class remarks).</summary>
    public bool WritesDirectly => _direct is not null;

    public bool IsEnabled(LogEventLevel level) => _logger.IsEnabled(level);

    /// <summary>Writes the event; <paramref name="endTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/> when the request completed) is its <c>@t</c>.</summary>
    public void Write(HttpContext context, RequestScope scope, EndpointInfo endpoint, LogEventLevel level, int statusCode, long endTimestamp, double elapsedMs, Exception? exception, bool aborted)
    {
        var timestamp = WallClock.UtcAt(endTimestamp);
        var userId = _includeUserId && MayHaveUser(context, scope) ? GetUserId((context.Features[typeof(IHttpAuthenticationFeature)] as IHttpAuthenticationFeature)?.User) : null;
        var db = scope.Db is { Commands: > 0 } stats ? stats : null;
        if (_direct is not null && exception is null)
        {
            var ip = _includeClientIp ? context.Connection.RemoteIpAddress : null;
            _direct.Write(context.Request, scope.RequestId, scope.Activity, endpoint, level, statusCode, timestamp, elapsedMs, ip, userId, db, aborted);

            // Logs over OTLP: the direct line skipped the pipeline, so the event goes to the export sinks alone. Building
            // it costs less than sending the line through Serilog, whose stdout formatting the direct path avoids.
            _exports?.Write(CreateEvent(context, scope, endpoint, level, statusCode, timestamp, elapsedMs, null, aborted, userId, db));
            return;
        }

        _logger.Write(CreateEvent(context, scope, endpoint, level, statusCode, timestamp, elapsedMs, exception, aborted, userId, db));
    }

    internal static LogEventLevel? ToSerilog(LogLevel level) => level switch
    {
        LogLevel.Trace => LogEventLevel.Verbose,
        LogLevel.Debug => LogEventLevel.Debug,
        LogLevel.Information => LogEventLevel.Information,
        LogLevel.Warning => LogEventLevel.Warning,
        LogLevel.Error => LogEventLevel.Error,
        LogLevel.Critical => LogEventLevel.Fatal,
        _ => null,
    };

    private LogEvent CreateEvent(HttpContext context, RequestScope scope, EndpointInfo endpoint, LogEventLevel level, int statusCode, DateTime timestamp, double elapsedMs, Exception? exception, bool aborted, string? userId, RequestDbStats? db)
    {
        var request = context.Request;
        var clientIp = _includeClientIp ? context.Connection.RemoteIpAddress?.ToString() : null;
        var count = 6 + (endpoint.RouteProperty is null ? 0 : 1) + (clientIp is null ? 0 : 1) + (userId is null ? 0 : 1) + (aborted ? 1 : 0) + (db is null ? 0 : 2);
        var properties = new LogEventProperty[count];
        var i = 0;
        properties[i++] = new LogEventProperty(CompletionFields.RequestMethod.Name, new ScalarValue(request.Method));
        properties[i++] = new LogEventProperty(CompletionFields.RequestPath.Name, new ScalarValue(request.PathBase.HasValue ? request.PathBase.Add(request.Path).Value : request.Path.Value));
        properties[i++] = new LogEventProperty(CompletionFields.StatusCode.Name, new ScalarValue(statusCode));
        properties[i++] = new LogEventProperty(CompletionFields.Elapsed.Name, new ScalarValue(Math.Round(elapsedMs, 3)));
        properties[i++] = scope.RequestIdProperty;
        properties[i++] = EventIdProperty;
        if (endpoint.RouteProperty is { } route)
        {
            properties[i++] = route;
        }

        if (clientIp is not null)
        {
            properties[i++] = new LogEventProperty(CompletionFields.ClientIp.Name, new ScalarValue(clientIp));
        }

        if (userId is not null)
        {
            properties[i++] = new LogEventProperty(CompletionFields.UserId.Name, new ScalarValue(userId));
        }

        if (db is not null)
        {
            properties[i++] = new LogEventProperty(CompletionFields.DbCommands.Name, new ScalarValue(db.Commands));
            properties[i++] = new LogEventProperty(CompletionFields.DbElapsed.Name, new ScalarValue(Math.Round(db.ElapsedMs, 3)));
        }

        if (aborted)
        {
            properties[i] = AbortedProperty;
        }

        var activity = scope.Activity;
        // UTC: CLEF writes @t in UTC anyway, and the local-time conversion of DateTimeOffset.Now costs on every request.
        return new LogEvent(new DateTimeOffset(timestamp), level, exception, aborted ? AbortedTemplate : Template, properties, activity?.TraceId ?? default, activity?.SpanId ?? default);
    }

    /// <summary>
    /// Whether the request can carry a user: authentication is registered (WebApplication then runs its middleware
    /// before every other, ours included), the server keeps the user itself, or a feature was set after the middleware
    /// started (on Kestrel, setting <c>HttpContext.User</c> adds the authentication feature). Otherwise the lookup is
    /// skipped: on Kestrel an absent feature is searched for in the request's and then the connection's features,
    /// ~0.15 µs for every anonymous request (by profile). The user is read through the feature, not
    /// <c>HttpContext.User</c>, whose getter creates an empty <see cref="ClaimsPrincipal"/> for every anonymous request;
    /// through the indexer, not <c>Features.Get&lt;T&gt;()</c>, whose generic dispatch is slower on Kestrel's collection.
    /// </summary>
    private bool MayHaveUser(HttpContext context, RequestScope scope) =>
        _authenticationRegistered || scope.ServerHoldsUser || context.Features.Revision != scope.FeaturesRevision;

    private static string? GetUserId(ClaimsPrincipal? user)
    {
        if (user?.Identity is not { IsAuthenticated: true } identity)
        {
            return null;
        }

        return user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? user.FindFirst("sub")?.Value ?? identity.Name;
    }
}
