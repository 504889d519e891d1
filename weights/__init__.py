"""musiczoo's pretrained weight files, their manifest and licenses, installed as the package data `zoo.pretrained`."""
