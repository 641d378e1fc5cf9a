package main

import (
	"sync/atomic"

	"github.com/attune-dev/attune/internal/serving"
)

// importNotifier tells serving which datasets an import or a dataset
// deletion changed. The dataset service is built before serving (serving's
// filters need it), so serving is set once it exists; changes before then
// concern nothing loaded.
type importNotifier struct {
	sv atomic.Pointer[serving.Service]
}

func (n *importNotifier) changed(datasetARN string) {
	if sv := n.sv.Load(); sv != nil {
		sv.DatasetChanged(datasetARN)
	}
}
