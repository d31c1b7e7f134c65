// The OTLP receiver of the load benchmark's tracing variants (eng/bench.sh starts it pinned to wrk's core). It takes
// POST <prefix>/v1/traces over http/protobuf, counts requests, bytes and spans per prefix (one prefix per variant) and
// answers 200 with an empty ExportTraceServiceResponse, as a collector that accepted everything does. GET /stats
// prints "prefix requests bytes spans" lines. Nothing is kept, so it stays cheap beside wrk.
using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Observability.Benchmarks.OtlpSink;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var counts = new ConcurrentDictionary<string, PrefixCounts>(StringComparer.Ordinal);

app.Run(async context =>
{
    var request = context.Request;
    var path = request.Path.Value ?? "/";
    if (HttpMethods.IsGet(request.Method) && path == "/stats")
    {
        var text = new StringBuilder();
        foreach (var (prefix, c) in counts)
        {
            text.Append(prefix).Append(' ').Append(c.Requests).Append(' ').Append(c.Bytes).Append(' ').Append(c.Spans).Append('\n');
        }

        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(text.ToString());
        return;
    }

    const string TracesPath = "/v1/traces";
    if (!HttpMethods.IsPost(request.Method) || !path.EndsWith(TracesPath, StringComparison.Ordinal))
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return;
    }

    var buffer = ArrayPool<byte>.Shared.Rent((int)(request.ContentLength ?? 64 * 1024));
    try
    {
        var length = 0;
        int read;
        while ((read = await request.Body.ReadAsync(buffer.AsMemory(length))) > 0)
        {
            length += read;
            if (length == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }
        }

        var c = counts.GetOrAdd(path[..^TracesPath.Length], static _ => new PrefixCounts());
        c.Add(length, OtlpSpanCounter.Count(buffer.AsSpan(0, length)));
    }
    finally
    {
        ArrayPool<byte>.Shared.Return(buffer);
    }

    context.Response.ContentType = "application/x-protobuf";
    context.Response.ContentLength = 0;
});

app.Run();
