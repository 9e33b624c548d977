"""CTC decoders that `XlsrFinetuningTask.build_generator` hands to `fairseq-generate`."""
