"""One module per model family; each builder maps a log-mel tensor to the model's output."""
