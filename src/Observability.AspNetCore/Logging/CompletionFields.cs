using System.Text;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Logging;

/// <summary>One field of the completion event: its property name, and the same name as the direct path writes it.</summary>
internal sealed class CompletionField
{
    private readonly byte[] _json;

    public CompletionField(string name)
    {
        Name = name;
        _json = Encoding.UTF8.GetBytes(",\"" + name + "\":");
    }

    /// <summary>The property name, as Serilog's path and the readers of the line see it.</summary>
    public string Name { get; }

    /// <summary><c>,"Name":</c> as UTF-8, for the line written without Serilog.</summary>
    public ReadOnlySpan<byte> Json => _json;
}

/// <summary>
/// The completion event's fields, defined once for both of its writers: <see cref="RequestCompletionLogger"/> (Serilog)
/// and <see cref="CompletionLineEncoder"/> (UTF-8 straight to stdout), so the two cannot name a field differently.
/// Names come from the library's one vocabulary, <see cref="LogPropertyNames"/>.
/// </summary>
internal static class CompletionFields
{
    public static readonly CompletionField RequestMethod = new(LogPropertyNames.RequestMethod);
    public static readonly CompletionField RequestPath = new(LogPropertyNames.RequestPath);
    public static readonly CompletionField StatusCode = new(LogPropertyNames.StatusCode);
    public static readonly CompletionField Elapsed = new(LogPropertyNames.Elapsed);
    public static readonly CompletionField RequestId = new(LogPropertyNames.RequestId);
    public static readonly CompletionField Route = new(LogPropertyNames.Route);
    public static readonly CompletionField ClientIp = new(LogPropertyNames.ClientIp);
    public static readonly CompletionField UserId = new(LogPropertyNames.UserId);
    public static readonly CompletionField DbCommands = new(LogPropertyNames.DbCommands);
    public static readonly CompletionField DbElapsed = new(LogPropertyNames.DbElapsed);
    public static readonly CompletionField Aborted = new(LogPropertyNames.Aborted);
    public static readonly CompletionField EventId = new(LogPropertyNames.EventId);
    public static readonly CompletionField SourceContext = new(LogPropertyNames.SourceContext);
    public static readonly CompletionField Service = new(LogPropertyNames.Service);
    public static readonly CompletionField Version = new(LogPropertyNames.Version);
    public static readonly CompletionField Environment = new(LogPropertyNames.Environment);

    /// <summary>Every field, in the order both writers put them on the line.</summary>
    public static readonly CompletionField[] All =
    [
        RequestMethod, RequestPath, StatusCode, Elapsed, RequestId, Route, ClientIp, UserId, DbCommands, DbElapsed, Aborted,
        EventId, SourceContext, Service, Version, Environment,
    ];
}
