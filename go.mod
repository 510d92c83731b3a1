module github.com/cnsgate/cnsgate

go 1.26.8
