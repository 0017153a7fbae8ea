module tenant-operator/hack/node/images

go 1.24.0
