using System.Diagnostics;
using Observability.AspNetCore.Core;
using OpenTelemetry;
using OpenTelemetry.Exporter;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// The OTLP trace exporter, counting what each batch became: the SDK keeps its own drop count internal, so this is
/// where an operator learns that spans are being lost. Runs on the batch processor's thread, never on a request.
/// </summary>
internal sealed class CountingOtlpExporter(OtlpExporterOptions options, TracingExportStats stats) : OtlpTraceExporter(options)
{
    public override ExportResult Export(in Batch<Activity> activityBatch)
    {
        ExportResult result;
        try
        {
            result = base.Export(activityBatch);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            result = ExportResult.Failure;
        }

        stats.Record(result == ExportResult.Success, activityBatch.Count);
        return result;
    }
}
