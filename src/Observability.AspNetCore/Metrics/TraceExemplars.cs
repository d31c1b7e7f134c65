using System.Diagnostics;
using Prometheus;

namespace Observability.AspNetCore.Metrics;

/// <summary>
/// The exemplar of an observation made inside a recorded (sampled-in) trace: its <c>trace_id</c> and <c>span_id</c>, the
/// label names OpenTelemetry's Prometheus compatibility spec uses and Grafana links from.
/// </summary>
internal static class TraceExemplars
{
    private static readonly Exemplar.LabelKey TraceIdKey = Exemplar.Key("trace_id");
    private static readonly Exemplar.LabelKey SpanIdKey = Exemplar.Key("span_id");

    /// <summary>
    /// The current activity's IDs when it is recorded, else <see cref="Exemplar.None"/> (an unsampled trace reaches no
    /// backend, so its ID would lead nowhere). The ID strings are the activity's own and the exemplar is pooled.
    /// </summary>
    public static Exemplar FromRecordedActivity() =>
        Activity.Current is { Recorded: true } activity
            ? Exemplar.From(TraceIdKey.WithValue(activity.TraceId.ToHexString()), SpanIdKey.WithValue(activity.SpanId.ToHexString()))
            : Exemplar.None;
}
