using System.Text.Json;

namespace Observability.AspNetCore.Tests.Support;

/// <summary>Reading a CLEF log event (one JSON object per line) the way a log shipper does.</summary>
internal static class JsonEventExtensions
{
    /// <summary>A string property, or null when it is absent or not a string.</summary>
    public static string? Str(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    public static bool Has(this JsonElement e, string name) => e.TryGetProperty(name, out _);

    /// <summary>The library's one event per request, recognised by its event name.</summary>
    public static bool IsCompletion(this JsonElement e) =>
        e.TryGetProperty("EventId", out var id) && id.ValueKind == JsonValueKind.Object && id.Str("Name") == "RequestCompleted";

    /// <summary>The event's level; CLEF leaves <c>@l</c> out for Information.</summary>
    public static string Level(this JsonElement e) => e.Str("@l") ?? "Information";
}
