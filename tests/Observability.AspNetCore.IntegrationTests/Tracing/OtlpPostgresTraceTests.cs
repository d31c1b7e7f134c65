using System.Net;
using Observability.AspNetCore.IntegrationTests.Foundation;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using OpenTelemetry.Proto.Trace.V1;

namespace Observability.AspNetCore.IntegrationTests.Tracing;

/// <summary>The sample on a real PostgreSQL: its commands are traced by Npgsql's own spans, once, under the request's span.</summary>
[Collection(ServersCollection.Name)]
public sealed class OtlpPostgresTraceTests(ServersFixture servers)
{
    [Fact]
    public async Task Npgsql_commands_are_children_of_the_request_span_and_are_not_traced_twice()
    {
        var database = $"otlp_{Guid.NewGuid():N}";
        await servers.Postgres.CreateDatabaseAsync(database);
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = OtlpTraceExportTests.TracingTo(receiver);
        environment["ConnectionStrings__Postgres"] = servers.Postgres.ConnectionStringFor(database);
        await using var sample = await SampleApiProcess.StartAsync(environment);

        using var response = await sample.Client.GetAsync("/api/items");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = await sample.App.WaitForCompletionEventAsync(response.SingleHeader(ClefEvents.RequestIdHeader));
        var spanId = completion.StringProperty("@sp");

        var spans = await receiver.WaitForSpansAsync(all =>
            all.Any(s => s.SpanId == spanId) && all.Any(s => s.ParentSpanId == spanId && s.Scope == "Npgsql" && s.Attribute("db.query.text")?.Contains("FROM \"Items\"", StringComparison.Ordinal) == true));
        var children = spans.Where(s => s.ParentSpanId == spanId).ToList();
        var select = Assert.Single(children, s => s.Scope == "Npgsql" && s.Attribute("db.query.text")?.Contains("ORDER BY", StringComparison.Ordinal) == true);
        Assert.Equal(Span.Types.SpanKind.Client, select.Kind);
        Assert.Equal(completion.StringProperty("@tr"), select.TraceId);
        Assert.Equal("postgresql", select.Attribute("db.system.name") ?? select.Attribute("db.system"));
        Assert.DoesNotContain(children, s => s.Scope == "Observability.AspNetCore.EntityFrameworkCore");
    }
}
