"""HTTP routers: parameters, status codes and response models only."""
