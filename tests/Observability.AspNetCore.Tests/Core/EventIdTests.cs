using System.Reflection;
using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Logging;

namespace Observability.AspNetCore.Tests.Core;

/// <summary>One table of event IDs for the whole library (<see cref="EventIds"/>): unique, and the only source of them.</summary>
public sealed class EventIdTests
{
    private static readonly Dictionary<string, int> RangeStart = new()
    {
        ["RequestId"] = 1000, ["Logging"] = 1050, ["Metrics"] = 1100, ["SlowRequests"] = 1200,
        ["SlowQueries"] = 1300, ["Health"] = 1400, ["Jobs"] = 1500, ["Tracing"] = 1600,
    };

    private static readonly List<(string Name, int Id)> Table = [.. typeof(EventIds)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (f.Name, (int)f.GetRawConstantValue()!))];

    [Fact]
    public void Every_event_id_in_the_table_is_unique()
    {
        Assert.NotEmpty(Table);
        Assert.Empty(Table.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Name))}"));
    }

    [Fact]
    public void Every_logged_event_takes_its_id_and_name_from_the_table_in_its_features_range()
    {
        var logged = typeof(ObservabilityOptions).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (Feature: x.Method.DeclaringType!.Namespace!.Split('.').Last(), Name: x.Attribute!.EventName!, Id: x.Attribute.EventId))
            .Append((Feature: "Logging", Name: RequestCompletionLogger.EventName, Id: RequestCompletionLogger.EventIdValue))
            .ToList();

        Assert.True(logged.Count > 10, $"Found only {logged.Count} [LoggerMessage] methods.");
        foreach (var (feature, name, id) in logged)
        {
            Assert.Contains((name, id), Table);
            var start = RangeStart[feature];
            Assert.InRange(id, start, RangeStart.Values.Where(v => v > start).DefaultIfEmpty(start + 100).Min() - 1);
        }

        // Every entry of the table is logged by someone: a table row without an event would be a stale promise.
        var unused = Table.Where(e => !logged.Any(l => l.Name == e.Name && l.Id == e.Id)).Select(e => $"{e.Name} = {e.Id}").ToList();
        Assert.True(unused.Count == 0, "Table rows no event uses: " + string.Join(", ", unused));
    }
}
